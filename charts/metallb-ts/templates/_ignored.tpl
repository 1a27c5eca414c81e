{{/*
Upstream MetalLB keys this chart accepts (so pasted upstream values files install unchanged)
but does not use. values.yaml gives them no defaults, so any of them present in .Values was
set by the user; NOTES.txt lists those. Output: one "key: reason" line per key found.
*/}}
{{- define "metallb.ignoredKeys" -}}
{{- $v := .Values }}
{{- $c := $v.controller | default dict }}
{{- $s := $v.speaker | default dict }}
{{- $noWebhook := "metallb-ts runs no admission webhooks; the CRD schemas (CEL) validate objects" }}
{{- $noMemberlist := "no memberlist: per-IP Lease election decides which node announces" }}
{{- $nativeBgp := "BGP is built into the speaker; no FRR or frr-k8s is deployed" }}
{{- $command := "the image has a single entrypoint (node /app/dist/src/cli/main.js)" }}
{{- $tlsGo := "Go TLS tuning; Node.js TLS defaults apply (tls.minVersion is honoured)" }}
{{- $rbacProxy := "no kube-rbac-proxy sidecar; metrics are served by the processes themselves" }}
{{- $checks := list
  (list $c "webhookMode" "controller.webhookMode" $noWebhook)
  (list $c "command" "controller.command" $command)
  (list $s "command" "speaker.command" $command)
  (list $s "memberlist" "speaker.memberlist" $noMemberlist)
  (list $s "secretName" "speaker.secretName" $noMemberlist)
  (list $s "wanConfig" "speaker.wanConfig" $noMemberlist)
  (list $s "startupProbe" "speaker.startupProbe" "only used by upstream's FRR container")
  (list $s "bgpDebounceTimeout" "speaker.bgpDebounceTimeout" $nativeBgp)
  (list $s "frr" "speaker.frr" $nativeBgp)
  (list $s "reloader" "speaker.reloader" $nativeBgp)
  (list $s "frrMetrics" "speaker.frrMetrics" $nativeBgp)
  (list $s "initContainers" "speaker.initContainers" $nativeBgp)
  (list $v "frrk8s" "frrk8s" $nativeBgp)
  (list $v "frr-k8s" "frr-k8s" $nativeBgp)
  (list ($v.crds | default dict) "validationFailurePolicy" "crds.validationFailurePolicy" $noWebhook)
  (list ($v.tls | default dict) "cipherSuites" "tls.cipherSuites" $tlsGo)
  (list ($v.tls | default dict) "curvePreferences" "tls.curvePreferences" $tlsGo)
  (list ($v.prometheus | default dict) "secureMetricsPort" "prometheus.secureMetricsPort" $rbacProxy)
  (list ($v.prometheus | default dict) "rbacProxy" "prometheus.rbacProxy" $rbacProxy)
}}
{{- range $checks }}
{{- $parent := index . 0 }}
{{- if and (kindIs "map" $parent) (hasKey $parent (index . 1)) }}
{{ index . 2 }}: {{ index . 3 }}
{{- end }}
{{- end }}
{{- range $name := list "controller" "speaker" }}
{{- $comp := index $v $name | default dict }}
{{- $ready := $comp.readinessProbe | default dict }}
{{- $port := include "metallb.probePort" $comp }}
{{- if and (hasKey $ready "port") (ne (int $ready.port) (int $port)) }}
{{ $name }}.readinessProbe.port: the process serves /healthz and /readyz on one port, {{ $name }}.livenessProbe.port ({{ $port }})
{{- end }}
{{- end }}
{{- range $name := list "controller" "speaker" }}
{{- $img := (index $v $name | default dict).image | default dict }}
{{- if include "metallb.isUpstreamImage" $img }}
{{ $name }}.image: {{ $img.repository }}{{ with $img.tag }}:{{ . }}{{ end }} is upstream MetalLB's image; {{ $v.image.repository }} is used instead
{{- end }}
{{- end }}
{{- end }}

{{/*
Keys neither upstream's chart nor this one knows (typos, or keys of a future upstream
release): accepted, since the schema must not reject an upstream file, but listed by
NOTES.txt so a misspelt key does not go unnoticed. Output: one dotted key per line.
*/}}
{{- define "metallb.unknownKeys" -}}
{{- $known := dict
  "" (list "imagePullSecrets" "nameOverride" "fullnameOverride" "loadBalancerClass" "image" "rbac" "tls" "prometheus" "controller" "speaker" "crds" "frrk8s" "frr-k8s" "networkpolicies" "configInline" "global")
  "controller" (list "enabled" "logLevel" "image" "serviceAccount" "securityContext" "resources" "nodeSelector" "tolerations" "priorityClassName" "runtimeClassName" "affinity" "podAnnotations" "labels" "livenessProbe" "readinessProbe" "extraContainers" "command" "terminationGracePeriodSeconds" "extraArgs" "webhookMode" "strategy" "replicas" "leaderElection" "defaultResources" "nodeOptions")
  "speaker" (list "enabled" "logLevel" "image" "serviceAccount" "securityContext" "resources" "nodeSelector" "tolerations" "priorityClassName" "runtimeClassName" "affinity" "podAnnotations" "labels" "livenessProbe" "readinessProbe" "extraContainers" "command" "terminationGracePeriodSeconds" "extraArgs" "tolerateMaster" "ignoreExcludeLB" "excludeInterfaces" "updateStrategy" "memberlist" "secretName" "wanConfig" "bgpDebounceTimeout" "startupProbe" "frr" "reloader" "frrMetrics" "initContainers" "l2Election" "l2Announce" "l2Rebalance" "leaseAdmissionPolicy" "defaultResources")
  "prometheus" (list "scrapeAnnotations" "metricsPort" "secureMetrics" "secureMetricsPort" "rbacPrometheus" "serviceAccount" "namespace" "controllerMetricsTLSSecret" "speakerMetricsTLSSecret" "rbacProxy" "podMonitor" "serviceMonitor" "prometheusRule")
}}
{{- range $section, $keys := $known }}
{{- $map := ternary $.Values (index $.Values $section | default dict) (eq $section "") }}
{{- if kindIs "map" $map }}
{{- range $key, $_ := $map }}
{{- if not (has $key $keys) }}
{{ if $section }}{{ $section }}.{{ end }}{{ $key }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
