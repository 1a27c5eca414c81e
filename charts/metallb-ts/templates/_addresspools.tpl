{{/*
Upstream 0.13's AddressPool kind, removed by upstream in 0.14 and never read by metallb-ts.
A `helm upgrade` from upstream 0.13 finds the CRD in the cluster (lookup): the chart then keeps
rendering the CRD (so the upgrade does not delete it and the AddressPools in it) and converts
each AddressPool of the release namespace the way upstream 0.13's own parser read it
(addressPoolFromLegacyCR in internal/config/config.go of metallb/metallb v0.13.7):

  protocol layer2  -> IPAddressPool <name> + L2Advertisement <name> (every node, every interface)
  protocol bgp     -> IPAddressPool <name> + one BGPAdvertisement per bgpAdvertisements entry
                      (<name>, <name>-1, ...; aggregationLength, aggregationLengthV6, localPref,
                      communities copied), or one with the defaults when the list is empty

The pool keeps the AddressPool's name, so Services keep their IPs and their
ip-allocated-from-pool annotation. An AddressPool is left unconverted (and named in NOTES) when
one of the objects it would become already exists and was not converted by this chart (the user
converted it already), or when its protocol is not layer2/bgp. Converted objects carry the keep
policy: deleting the AddressPool later, or uninstalling, never deletes the pool IPs came from.

Returns YAML: {crd: bool, objects: [...], converted: [names], skipped: [{name, reason}]}.
`helm template` and client-side dry runs have no cluster: nothing is found, nothing rendered.
*/}}
{{- define "metallb.legacyAddressPools" -}}
{{- $ns := .Release.Namespace }}
{{- $crd := lookup "apiextensions.k8s.io/v1" "CustomResourceDefinition" "" "addresspools.metallb.io" }}
{{- $objects := list }}
{{- $converted := list }}
{{- $skipped := list }}
{{- if $crd }}
{{- $marker := "metallb-ts.io/converted-from-addresspool" }}
{{- $pools := (lookup "metallb.io/v1beta1" "AddressPool" $ns "").items | default list }}
{{- range $p := $pools }}
{{- $name := $p.metadata.name }}
{{- $spec := $p.spec | default dict }}
{{- $want := list (dict "apiVersion" "metallb.io/v1beta1" "kind" "IPAddressPool" "name" $name "spec" (dict "addresses" ($spec.addresses | default list) "autoAssign" (ternary true $spec.autoAssign (kindIs "invalid" $spec.autoAssign)))) }}
{{- $reason := "" }}
{{- if eq ($spec.protocol | default "") "layer2" }}
{{- $want = append $want (dict "apiVersion" "metallb.io/v1beta1" "kind" "L2Advertisement" "name" $name "spec" (dict "ipAddressPools" (list $name))) }}
{{- else if eq ($spec.protocol | default "") "bgp" }}
{{- $ads := $spec.bgpAdvertisements | default (list dict) }}
{{- range $i, $ad := $ads }}
{{- $adSpec := dict "ipAddressPools" (list $name) }}
{{- range $k := list "aggregationLength" "aggregationLengthV6" "localPref" "communities" }}
{{- if hasKey $ad $k }}{{ $_ := set $adSpec $k (get $ad $k) }}{{ end }}
{{- end }}
{{- $want = append $want (dict "apiVersion" "metallb.io/v1beta1" "kind" "BGPAdvertisement" "name" (ternary $name (printf "%s-%d" $name $i) (eq $i 0)) "spec" $adSpec) }}
{{- end }}
{{- else }}
{{- $reason = printf "protocol %q is neither layer2 nor bgp" ($spec.protocol | default "") }}
{{- end }}
{{- if not $reason }}
{{- range $o := $want }}
{{- $found := lookup $o.apiVersion $o.kind $ns $o.name }}
{{- if and (not $reason) $found (not (hasKey ($found.metadata.annotations | default dict) $marker)) }}
{{- $reason = printf "%s %s already exists" $o.kind $o.name }}
{{- end }}
{{- end }}
{{- end }}
{{- if $reason }}
{{- $skipped = append $skipped (dict "name" $name "reason" $reason) }}
{{- else }}
{{- $converted = append $converted $name }}
{{- range $o := $want }}
{{- $objects = append $objects (dict "apiVersion" $o.apiVersion "kind" $o.kind "metadata" (dict "name" $o.name "namespace" $ns "annotations" (dict $marker $name "helm.sh/resource-policy" "keep")) "spec" $o.spec) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml (dict "crd" (not (empty $crd)) "objects" $objects "converted" $converted "skipped" $skipped) }}
{{- end }}
