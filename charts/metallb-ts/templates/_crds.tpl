{{- /*
CRDs for clusters older than the chart's full-validation bound (Chart.yaml annotation
metallb-ts.io/full-crd-validation). Derived from files/crds/ by removing what a Kubernetes 1.25
apiserver cannot compile or would report differently, so there is one source of truth:

- a rule calling a CEL library added after 1.25 (k8s.io/apiserver/pkg/cel/environment/base.go):
  quantities and optionals (1.28), sets and strings v2 (1.29), IP and CIDR (1.30), format (1.31),
  two-variable comprehensions (1.32), semver (1.33), lists v3 (1.34);
- a rule with `messageExpression` (1.27): without it the apiserver would refuse with other words
  than the controller reports, so the controller alone reports it (same words as the full CRDs);
- a rule with `optionalOldSelf` (1.30): it only compiles with that field;
- the `reason` and `fieldPath` fields (1.28) of the rules kept: they change the error's reason
  and path, not its message.

The controller enforces every dropped rule with the same message (docs/install.md).
*/}}
{{- define "metallb.crds.fullValidation" -}}
{{- if semverCompare (index .Chart.Annotations "metallb-ts.io/full-crd-validation") .Capabilities.KubeVersion.Version }}true{{ end }}
{{- end }}

{{- define "metallb.crds.post125Cel" -}}
\b(isQuantity|quantity|optional\.(of|none|ofNonZeroValue)|hasValue|orValue|sets\.(contains|equivalent|intersects)|format|quote|reverse|isIP|ip|isCIDR|cidr|family|isUnspecified|isLoopback|isLinkLocalMulticast|isLinkLocalUnicast|isGlobalUnicast|isCanonical|containsIP|containsCIDR|masked|prefixLength|transformList|transformMap|transformMapEntry|isSemver|semver|lists\.range|slice|flatten|distinct|sort|sortBy|first|last)\s*\(|\.\?|\[\?
{{- end }}

{{- /* Walks a parsed CRD (maps and lists) and degrades its x-kubernetes-validations in place. */}}
{{- define "metallb.crds.degrade" -}}
{{- $node := .node }}
{{- if kindIs "map" $node }}
{{- with (get $node "x-kubernetes-validations") }}
{{- $kept := list }}
{{- range $rule := . }}
{{- if not (or (hasKey $rule "messageExpression") (hasKey $rule "optionalOldSelf") (regexMatch $.post125 (toString $rule.rule))) }}
{{- $kept = append $kept (omit $rule "reason" "fieldPath") }}
{{- end }}
{{- end }}
{{- if $kept }}
{{- $_ := set $node "x-kubernetes-validations" $kept }}
{{- else }}
{{- $_ := unset $node "x-kubernetes-validations" }}
{{- end }}
{{- end }}
{{- range $key, $child := $node }}
{{- include "metallb.crds.degrade" (dict "node" $child "post125" $.post125) }}
{{- end }}
{{- else if kindIs "slice" $node }}
{{- range $child := $node }}
{{- include "metallb.crds.degrade" (dict "node" $child "post125" $.post125) }}
{{- end }}
{{- end }}
{{- end }}
