{{- /*
CRDs for apiservers older than 1.31, derived from files/crds/ while rendering (one source of
truth). A new or changed CRD's CEL rules are compiled at the previous release's level, so the IP
and CIDR library (in the CEL base environment from 1.30, `staging/src/k8s.io/apiserver/pkg/cel/
environment/base.go` in kubernetes/kubernetes) is usable from 1.31 only; below that the whole CRD
would be refused. "metallb.crd.degrade" edits a schema tree in place so that it uses only what a
1.25 apiserver accepts:
  - a rule calling a CEL function added after 1.25 is dropped (the controller's config parser
    refuses the same objects with the same words, docs/install.md "Kubernetes 1.25 to 1.30");
  - rule fields added after 1.25 are removed from the rules kept: messageExpression (1.27),
    reason and fieldPath (1.28), optionalOldSelf (1.29). A kept rule then fails with its
    `message`, or the apiserver's own "failed rule: <rule>"; since a rule spanning lines needs a
    `message`, such a rule is folded onto one line (CEL ignores the line breaks).
test/chart/crds-old-kube.test.ts checks the result against its own list of post-1.25 names.
*/}}
{{- define "metallb.crd.newCelFunctions" -}}
\b(isIP|ip|isCIDR|cidr|family|format|quote|quantity|isQuantity|semver|isSemver|image|isImage|transformList|transformMap|transformMapEntry|existsOne|sets\.[a-z]+|optional\.[a-zA-Z]+|orValue|hasValue)\s*\(|\.\?|\[\?
{{- end }}

{{- define "metallb.crd.degrade" -}}
{{- $pattern := include "metallb.crd.newCelFunctions" . | trim }}
{{- if kindIs "map" . }}
{{- $node := . }}
{{- range $key, $value := $node }}
{{- if eq $key "x-kubernetes-validations" }}
{{- $kept := list }}
{{- range $rule := $value }}
{{- if not (regexMatch $pattern (toString $rule.rule)) }}
{{- $rule = omit $rule "messageExpression" "reason" "fieldPath" "optionalOldSelf" }}
{{- if not (hasKey $rule "message") }}
{{- $_ := set $rule "rule" (regexReplaceAll "\\s*\\n\\s*" (toString $rule.rule) " ") }}
{{- end }}
{{- $kept = append $kept $rule }}
{{- end }}
{{- end }}
{{- if $kept }}
{{- $_ := set $node $key $kept }}
{{- else }}
{{- $_ := unset $node $key }}
{{- end }}
{{- else }}
{{- $_ := include "metallb.crd.degrade" $value }}
{{- end }}
{{- end }}
{{- else if kindIs "slice" . }}
{{- range . }}
{{- $_ := include "metallb.crd.degrade" . }}
{{- end }}
{{- end }}
{{- end }}
