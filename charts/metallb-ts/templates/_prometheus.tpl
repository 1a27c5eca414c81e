{{/*
Lets the Prometheus ServiceAccount discover this namespace's pods, services and endpoints
(a Prometheus restricted to some namespaces cannot otherwise scrape these targets).
*/}}
{{- define "metallb.prometheusRBAC" -}}
{{- if .Values.prometheus.rbacPrometheus }}
{{- $fullname := include "metallb.fullname" . }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $fullname }}-prometheus
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "metallb.labels" . | nindent 4 }}
rules:
  - apiGroups: [""]
    resources: ["pods", "services", "endpoints"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $fullname }}-prometheus
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "metallb.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $fullname }}-prometheus
subjects:
  - kind: ServiceAccount
    name: {{ required "prometheus.serviceAccount must be set when prometheus.rbacPrometheus is true and a ServiceMonitor or PodMonitor is enabled" .Values.prometheus.serviceAccount }}
    namespace: {{ required "prometheus.namespace must be set when prometheus.rbacPrometheus is true and a ServiceMonitor or PodMonitor is enabled" .Values.prometheus.namespace }}
{{- end }}
{{- end }}
