/**
 * Service annotations and the Service-derived inputs of the allocator, with upstream's reading
 * rules (docs/upstream-behaviour.md §3.2, §3.4, §3.5): the stable `metallb.io/` key wins whenever
 * it is present, even with an empty value; otherwise the deprecated `metallb.universe.tf/` key.
 */
import { parseIp, type IpAddr } from '../net/ip';
import { goQuote, goQuoteList } from './go-quote';
import { familyOfIps } from './allocator/allocator';
import { IpFamilyPolicy, type AllocRequest, type Port, type ServiceFamily } from './allocator/types';
import type { ServiceView } from './service-reconcile-types';

/** Stable annotation keys. */
export const Annotation = {
  AddressPool: 'metallb.io/address-pool',
  LoadBalancerIPs: 'metallb.io/loadBalancerIPs',
  AllowSharedIP: 'metallb.io/allow-shared-ip',
  /** Output: written by the controller, never read. */
  IPAllocatedFromPool: 'metallb.io/ip-allocated-from-pool',
} as const;

/** Deprecated keys, still honoured for input. */
export const DeprecatedAnnotation = {
  AddressPool: 'metallb.universe.tf/address-pool',
  LoadBalancerIPs: 'metallb.universe.tf/loadBalancerIPs',
  AllowSharedIP: 'metallb.universe.tf/allow-shared-ip',
} as const;

/** Prefix that triggers the `deprecatedAnnotation` warning. */
export const DEPRECATED_ANNOTATION_PREFIX = 'metallb.universe.tf';

function has(map: { readonly [k: string]: string } | undefined, key: string): boolean {
  return map !== undefined && Object.prototype.hasOwnProperty.call(map, key);
}

/** Upstream `valueForAnnotation`: stable key if present (even empty), else deprecated, else ''. */
export function annotationValue(svc: ServiceView, stable: string, deprecated: string): string {
  const a = svc.metadata?.annotations;
  if (has(a, stable)) return a?.[stable] ?? '';
  if (has(a, deprecated)) return a?.[deprecated] ?? '';
  return '';
}

/** The requested pool ('' = none). */
export function requestedPool(svc: ServiceView): string {
  return annotationValue(svc, Annotation.AddressPool, DeprecatedAnnotation.AddressPool);
}

/** Upstream `SharingKey`: allow-shared-ip value, '' = no sharing. */
export function sharingKey(svc: ServiceView): string {
  return annotationValue(svc, Annotation.AllowSharedIP, DeprecatedAnnotation.AllowSharedIP);
}

/** True if either allow-shared-ip key is present, whatever its value (L2 serviceSelector rule, §10.15). */
export function hasSharingAnnotation(svc: ServiceView): boolean {
  const a = svc.metadata?.annotations;
  return has(a, Annotation.AllowSharedIP) || has(a, DeprecatedAnnotation.AllowSharedIP);
}

/**
 * Upstream `BackendKey`: '' for Cluster policy (shares with anything), the canonical selector
 * (`labels.Set.String()`: keys sorted, `k=v` joined by commas) for Local, so Local Services
 * share an IP only when they select exactly the same pods.
 */
export function backendKey(svc: ServiceView): string {
  if (svc.spec?.externalTrafficPolicy !== 'Local') return '';
  const sel = svc.spec.selector ?? {};
  return Object.keys(sel)
    .sort()
    .map((k) => `${k}=${sel[k]}`)
    .join(',');
}

/** Upstream `k8salloc.Ports`; the apiserver defaults protocol to TCP. */
export function servicePorts(svc: ServiceView): Port[] {
  return (svc.spec?.ports ?? []).map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port }));
}

/** `spec.ipFamilyPolicy`, defaulting to SingleStack like upstream. */
export function familyPolicy(svc: ServiceView): IpFamilyPolicy {
  const p = svc.spec?.ipFamilyPolicy;
  return p === IpFamilyPolicy.PreferDualStack || p === IpFamilyPolicy.RequireDualStack ? p : IpFamilyPolicy.SingleStack;
}

/** Result of reading addresses or families from a Service. */
export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** The cluster IPs the family is derived from: `clusterIPs`, else `[clusterIP]`. */
export function clusterIpList(svc: ServiceView): string[] {
  const ips = svc.spec?.clusterIPs ?? [];
  return ips.length > 0 ? [...ips] : [svc.spec?.clusterIP ?? ''];
}

/** Upstream `ipfamily.ForAddresses` on strings. */
export function familyOfStrings(ips: readonly string[]): Read<ServiceFamily> {
  if (ips.length !== 1 && ips.length !== 2) {
    return { ok: false, error: `IPFamilyForAddresses: invalid ips length ${ips.length} ${goQuoteList(ips)}` };
  }
  const parsed = ips.map(parseIp);
  if (parsed.some((p) => p === undefined)) return { ok: false, error: `IPFamilyForAddresses: Invalid address ${goQuoteList(ips)}` };
  if (parsed.length === 2 && parsed[0]?.family === parsed[1]?.family) {
    return { ok: false, error: `IPFamilyForAddresses: same address family ${goQuoteList(ips)}` };
  }
  if (parsed.length === 2) return { ok: true, value: 'dual' };
  return { ok: true, value: parsed[0]?.family === 6 ? 'ipv6' : 'ipv4' };
}

/** Upstream `ipfamily.ForService`: the Service's family from its cluster IPs. */
export function serviceFamily(svc: ServiceView): Read<ServiceFamily> {
  return familyOfStrings(clusterIpList(svc));
}

/** Requested IPs: none, or 1-2 parsed addresses with their family. */
export type DesiredIps = { readonly ips: readonly IpAddr[]; readonly family: ServiceFamily | undefined };

/**
 * Upstream `getDesiredLbIPs` (§3.4): `metallb.io/loadBalancerIPs` (comma list, items trimmed)
 * or `spec.loadBalancerIP`, never both.
 */
export function desiredIps(svc: ServiceView): Read<DesiredIps> {
  const list = annotationValue(svc, Annotation.LoadBalancerIPs, DeprecatedAnnotation.LoadBalancerIPs);
  const single = svc.spec?.loadBalancerIP ?? '';
  if (list === '' && single === '') return { ok: true, value: { ips: [], family: undefined } };
  if (list !== '' && single !== '') {
    return { ok: false, error: `service can not have both ${Annotation.LoadBalancerIPs} and svc.Spec.LoadBalancerIP` };
  }
  if (list !== '') {
    const ips: IpAddr[] = [];
    for (const item of list.split(',')) {
      const ip = parseIp(item.trim());
      if (ip === undefined) return { ok: false, error: `invalid ${Annotation.LoadBalancerIPs}: ${goQuote(list)}` };
      ips.push(ip);
    }
    const fam = familyOfIps(ips);
    if (!fam.ok) return { ok: false, error: fam.error.message };
    return { ok: true, value: { ips, family: fam.value } };
  }
  const ip = parseIp(single);
  if (ip === undefined) return { ok: false, error: `invalid spec.loadBalancerIP ${goQuote(single)}` };
  return { ok: true, value: { ips: [ip], family: ip.family === 4 ? 'ipv4' : 'ipv6' } };
}

/** `namespace/name` of a Service. */
export function serviceKey(svc: ServiceView): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

/** The allocator's view of a Service whose family is known. */
export function allocRequest(key: string, svc: ServiceView, family: ServiceFamily): AllocRequest {
  return {
    key,
    namespace: svc.metadata?.namespace ?? '',
    labels: svc.metadata?.labels ?? {},
    family,
    policy: familyPolicy(svc),
    primaryFamily: svc.spec?.ipFamilies?.[0] === 'IPv6' ? 6 : 4,
    ports: servicePorts(svc),
    sharingKey: sharingKey(svc),
    backendKey: backendKey(svc),
  };
}

/** Upstream `filterByLoadBalancerClass` (§3.9). */
export function handlesLoadBalancerClass(svc: ServiceView, lbClass: string): boolean {
  const cls = svc.spec?.loadBalancerClass;
  if (lbClass === '') return cls === undefined || cls === '';
  return cls === lbClass;
}
