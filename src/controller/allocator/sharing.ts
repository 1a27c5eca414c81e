/**
 * IP sharing (upstream `sharingOK`): which addresses each sharing key holds, and why two
 * Services' keys may not share an address. Split from allocator.ts, which uses both.
 */
import type { IpFamily } from '../../net/ip';
import { goQuote } from '../go-quote';
import { IntervalSet } from './ip-interval-set';
import type { Allocation } from './types';

/**
 * Sharing key -> the addresses (per family) recorded under it, so first-fit can find an address
 * this Service may share without walking the pool. Keys with no address left are dropped.
 */
export class ShareIndex {
  private readonly byKey = new Map<string, [IntervalSet, IntervalSet]>();

  /** Record (`add`) or forget an address under `key`; the empty key (no sharing) is ignored. */
  update(key: string, family: IpFamily, value: bigint, add: boolean): void {
    if (key === '') return;
    let sets = this.byKey.get(key);
    if (sets === undefined) {
      if (!add) return;
      sets = [new IntervalSet(), new IntervalSet()];
      this.byKey.set(key, sets);
    }
    const set = sets[family === 4 ? 0 : 1];
    if (add) set.add(value);
    else {
      set.remove(value);
      if (sets[0].size === 0n && sets[1].size === 0n) this.byKey.delete(key);
    }
  }

  /** The addresses of one family recorded under `key`, if any. */
  members(key: string, family: IpFamily): IntervalSet | undefined {
    return key === '' ? undefined : this.byKey.get(key)?.[family === 4 ? 0 : 1];
  }
}

/**
 * Upstream `sharingOK` text, or undefined when the keys are compatible. Upstream discards this
 * text; we put it in the Event of the refused Service, so the existing holder's keys are shown
 * only when it is in the same namespace: a sharing key is what lets a Service onto another's
 * address, and another tenant's Events must not hand it out.
 */
export function sharingMismatch(existing: Allocation, sharing: string, backend: string, sameNamespace: boolean): string | undefined {
  if (existing.sharingKey === '') return 'existing service does not allow sharing';
  if (sharing === '') return 'new service does not allow sharing';
  const theirs = (key: string): string => (sameNamespace ? goQuote(key) : '(held in another namespace, not shown)');
  if (existing.sharingKey !== sharing) return `sharing key ${goQuote(sharing)} does not match existing sharing key ${theirs(existing.sharingKey)}`;
  if (existing.backendKey !== backend) return `backend key ${goQuote(backend)} does not match existing sharing key ${theirs(existing.backendKey)}`;
  return undefined;
}

/** Namespace part of a `namespace/name` Service key ('' for a key without one). */
export function namespaceOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

/**
 * Other holders of an address, as the Event of the refused `service` names them. Upstream lists
 * every holder's `namespace/name`; the Event lands in the refused Service's namespace, so only
 * holders of that namespace are named and the rest are just "in another namespace": a tenant
 * must not be able to map who else uses which IP and port.
 */
export function holdersSeenFrom(service: string, others: readonly string[]): string {
  const ns = namespaceOf(service);
  const named = others.filter((o) => namespaceOf(o) === ns).sort();
  const hidden = others.length - named.length;
  if (hidden === 0) return named.join(',');
  const elsewhere = hidden === 1 ? 'a Service in another namespace' : 'Services in other namespaces';
  return named.length === 0 ? elsewhere : `${named.join(',')} and ${elsewhere}`;
}
