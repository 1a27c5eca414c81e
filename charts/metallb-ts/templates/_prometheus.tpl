{{/*
Secure metrics: each scrape is authenticated with a TokenReview and authorised with a
SubjectAccessReview (get on the non-resource URL /metrics) by the process itself
(src/k8s/metrics-auth.ts), as upstream 0.14+'s controller-runtime filter does.
*/}}
{{- define "metallb.metricsReviewRules" -}}
{{- if .Values.prometheus.secureMetrics }}
  # Secure metrics: authenticate and authorise each scrape (src/k8s/metrics-auth.ts).
  - apiGroups: ["authentication.k8s.io"]
    resources: ["tokenreviews"]
    verbs: ["create"]
  - apiGroups: ["authorization.k8s.io"]
    resources: ["subjectaccessreviews"]
    verbs: ["create"]
{{- end }}
{{- end }}

{{/*
Lets the Prometheus ServiceAccount discover this namespace's pods, services and endpoints
(a Prometheus restricted to some namespaces cannot otherwise scrape these targets), as
upstream's chart does. With secure metrics it is also granted get on /metrics, which the
SubjectAccessReview asks for: upstream's chart leaves that grant to the Prometheus install
(kube-prometheus gives prometheus-k8s a ClusterRole with it), so a Prometheus installed without
one is refused with 403 by upstream, and not by this chart. Non-resource URLs can only be
granted cluster-wide (ClusterRole).
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
{{- if .Values.prometheus.secureMetrics }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ $fullname }}:prometheus-metrics
  labels:
    {{- include "metallb.labels" . | nindent 4 }}
rules:
  - nonResourceURLs: ["/metrics"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $fullname }}:prometheus-metrics
  labels:
    {{- include "metallb.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $fullname }}:prometheus-metrics
subjects:
  - kind: ServiceAccount
    name: {{ .Values.prometheus.serviceAccount }}
    namespace: {{ .Values.prometheus.namespace }}
{{- end }}
{{- end }}
{{- end }}
