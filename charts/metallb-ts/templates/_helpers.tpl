{{/*
Naming. The base name is "metallb", not the chart name "metallb-ts": with release name
"metallb" every object gets upstream's name (metallb-controller, metallb-speaker, ...) and
upstream's selector labels, so an in-place `helm upgrade` from upstream's chart keeps the
(immutable) Deployment and DaemonSet selectors, and existing health checks, dashboards and
alerts keep matching.
*/}}
{{- define "metallb.name" -}}
{{- default "metallb" .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "metallb.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default "metallb" .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "metallb.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "metallb.labels" -}}
helm.sh/chart: {{ include "metallb.chart" . }}
{{ include "metallb.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "metallb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metallb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "metallb.controller.serviceAccountName" -}}
{{- if .Values.controller.serviceAccount.create }}
{{- default (printf "%s-controller" (include "metallb.fullname" .)) .Values.controller.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.controller.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "metallb.speaker.serviceAccountName" -}}
{{- if .Values.speaker.serviceAccount.create }}
{{- default (printf "%s-speaker" (include "metallb.fullname" .)) .Values.speaker.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.speaker.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
True (non-empty) when the component image is upstream MetalLB's own image, in any registry
or mirror: pasted upstream values name quay.io/metallb/controller and quay.io/metallb/speaker,
which cannot run metallb-ts, so those repositories (and their tags) give way to .Values.image.
Argument: the component's image map.
*/}}
{{- define "metallb.isUpstreamImage" -}}
{{- if and . .repository (regexMatch "(^|/)metallb/(controller|speaker)$" (toString .repository)) }}true{{ end }}
{{- end }}

{{/* Image reference. Argument: dict "root" $ "image" <component image map>. */}}
{{- define "metallb.image" -}}
{{- $root := .root }}
{{- $img := .image | default dict }}
{{- $repo := $root.Values.image.repository }}
{{- $tag := $root.Values.image.tag | default $root.Chart.AppVersion }}
{{- if and $img.repository (not (include "metallb.isUpstreamImage" $img)) }}
{{- $repo = $img.repository }}
{{- if $img.tag }}{{ $tag = $img.tag }}{{ end }}
{{- end }}
{{- printf "%s:%s" $repo (toString $tag) }}
{{- end }}

{{/* Pull policy: the component's, else the top-level one, else empty (cluster default). */}}
{{- define "metallb.pullPolicy" -}}
{{- $img := .image | default dict }}
{{- $img.pullPolicy | default .root.Values.image.pullPolicy | default "" }}
{{- end }}

{{/* Metrics TLS secrets the user names; upstream 0.13 kept them under prometheus.*. */}}
{{- define "metallb.controllerUserMetricsTLSSecret" -}}
{{- .Values.tls.controllerMetricsTLSSecret | default .Values.prometheus.controllerMetricsTLSSecret | default "" }}
{{- end }}

{{- define "metallb.speakerUserMetricsTLSSecret" -}}
{{- .Values.tls.speakerMetricsTLSSecret | default .Values.prometheus.speakerMetricsTLSSecret | default "" }}
{{- end }}

{{/*
The Secret the chart generates (templates/metrics-cert.yaml) for secure metrics without a
user-named one: Node.js cannot create a certificate, where upstream's controller-runtime
serves a self-signed one it makes at start.
*/}}
{{- define "metallb.generatedMetricsCertSecret" -}}
{{- include "metallb.fullname" . }}-metrics-cert
{{- end }}

{{/*
The Secret whose tls.crt/tls.key a component serves metrics with: the user's, else the
generated one when prometheus.secureMetrics is on, else none (plain HTTP).
*/}}
{{- define "metallb.controllerMetricsTLSSecret" -}}
{{- $user := include "metallb.controllerUserMetricsTLSSecret" . }}
{{- if $user }}{{ $user }}{{ else if .Values.prometheus.secureMetrics }}{{ include "metallb.generatedMetricsCertSecret" . }}{{ end }}
{{- end }}

{{- define "metallb.speakerMetricsTLSSecret" -}}
{{- $user := include "metallb.speakerUserMetricsTLSSecret" . }}
{{- if $user }}{{ $user }}{{ else if .Values.prometheus.secureMetrics }}{{ include "metallb.generatedMetricsCertSecret" . }}{{ end }}
{{- end }}

{{/*
Metrics port name and scheme. HTTP metrics keep upstream 0.13's port name "monitoring";
HTTPS metrics (secure metrics, or a TLS secret) use upstream 0.14+'s "metricshttps".
Argument: the TLS secret name (may be empty).
*/}}
{{- define "metallb.metricsPortName" -}}
{{- if . }}metricshttps{{ else }}monitoring{{ end }}
{{- end }}

{{- define "metallb.metricsScheme" -}}
{{- if . }}https{{ else }}http{{ end }}
{{- end }}

{{/*
The plain-HTTP probe port of a component (upstream's --health-probe-port, 17472): its
livenessProbe.port, else its readinessProbe.port. The process serves both probes on one port.
Argument: the component's values.
*/}}
{{- define "metallb.probePort" -}}
{{- $l := .livenessProbe | default dict }}
{{- $r := .readinessProbe | default dict }}
{{- int ($l.port | default $r.port | default 17472) }}
{{- end }}

{{/* Leader election is on when forced, or when more than one controller replica runs. */}}
{{- define "metallb.leaderElect" -}}
{{- $le := .Values.controller.leaderElection | default dict }}
{{- if kindIs "bool" $le.enabled }}
{{- if $le.enabled }}true{{ end }}
{{- else if gt (int .Values.controller.replicas) 1 }}true
{{- end }}
{{- end }}

{{/*
The controller's leader-election Lease: the program's default, or what a
--leader-elect-lease-name=NAME entry of controller.extraArgs sets (the RBAC rule names it).
*/}}
{{- define "metallb.controller.leaseName" -}}
{{- $name := "metallb-controller" }}
{{- range .Values.controller.extraArgs }}
{{- if hasPrefix "--leader-elect-lease-name=" (toString .) }}
{{- $name = trimPrefix "--leader-elect-lease-name=" (toString .) }}
{{- end }}
{{- end }}
{{- $name }}
{{- end }}

{{/*
The program's own entrypoint inside the image (see Dockerfile); args[0] is the subcommand.
*/}}
{{- define "metallb.command" -}}
- node
- /app/dist/src/cli/main.js
{{- end }}

{{/* Probe block. Argument: dict "probe" <values probe> "path" <path> "scheme" <http|https> "port" <name>. */}}
{{- define "metallb.probe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
  scheme: {{ upper .scheme }}
initialDelaySeconds: {{ .probe.initialDelaySeconds }}
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
successThreshold: {{ .probe.successThreshold }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end }}
