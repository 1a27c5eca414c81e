/**
 * Who holds each address.
 *
 * An address held under a sharing key may have several holders, and every sharing decision
 * needs them, so those addresses are always indexed. An address held by a Service that does not
 * share has exactly one holder (checkSharing guarantees it), and only a conflict asks who that
 * is: an explicitly requested IP that is taken, or a diagnostic (the allocator answers a Service
 * re-claiming its own address without asking). Those addresses are indexed lazily: the first
 * question about one builds their entries from the allocations (O(n), once), and from then on
 * the index keeps them until the next config change starts a new index.
 *
 * Why: on the bench machine an entry in a 100,000-entry Map costs about as much as the rest of
 * an allocation (the Map's rehashing touches fresh memory, which this VM pays for dearly), and
 * the common Service never shares and never conflicts.
 */
import type { IpFamily } from '../../net/ip';

/** The key of an address's only holder, or the keys of all holders when shared. */
export type IpUse = string | string[];

/** Every holder of an address. */
export function holderList(use: IpUse): readonly string[] {
  return typeof use === 'string' ? [use] : use;
}

/** One holder; all holders of an address share its sharing and backend keys. */
export function firstHolder(use: IpUse): string {
  return typeof use === 'string' ? use : (use[0] as string);
}

/** An address held by a Service that does not share. */
export interface ExclusiveHold {
  readonly service: string;
  readonly family: IpFamily;
  readonly value: bigint;
}

/** Address -> holders; see the file comment for which addresses are indexed when. */
export class HolderIndex {
  private readonly v4 = new Map<bigint, IpUse>();
  private readonly v6 = new Map<bigint, IpUse>();
  /** True once addresses of non-sharing Services are indexed too. */
  private complete = false;

  /**
   * @param isHeld whether any Service holds the address (the pools' in-use sets know).
   * @param exclusiveHolds every address held by a Service that does not share.
   */
  constructor(
    private readonly isHeld: (family: IpFamily, value: bigint) => boolean,
    private readonly exclusiveHolds: () => Iterable<ExclusiveHold>,
  ) {}

  private map(family: IpFamily): Map<bigint, IpUse> {
    return family === 4 ? this.v4 : this.v6;
  }

  /**
   * Add a holder. True when it is the address's first holder. A non-sharing holder is always
   * the first: checkSharing refuses it an address someone else holds.
   */
  add(family: IpFamily, value: bigint, service: string, shares: boolean): boolean {
    if (!shares && !this.complete) return true;
    const map = this.map(family);
    const use = map.get(value);
    if (use === undefined) {
      map.set(value, service);
      return true;
    }
    if (typeof use === 'string') map.set(value, [use, service]);
    else use.push(service);
    return false;
  }

  /** Remove a holder. True when the address has no holder left. */
  remove(family: IpFamily, value: bigint, service: string, shares: boolean): boolean {
    if (!shares && !this.complete) return true;
    const map = this.map(family);
    const use = map.get(value);
    if (use === undefined) return false;
    if (use === service) {
      map.delete(value);
      return true;
    }
    if (typeof use !== 'string') {
      const rest = use.filter((s) => s !== service);
      map.set(value, rest.length === 1 ? (rest[0] as string) : rest);
    }
    return false;
  }

  /** The holders of an address, or undefined when it is free. */
  lookup(family: IpFamily, value: bigint): IpUse | undefined {
    const use = this.map(family).get(value);
    if (use !== undefined || this.complete || !this.isHeld(family, value)) return use;
    this.complete = true;
    for (const h of this.exclusiveHolds()) this.map(h.family).set(h.value, h.service);
    return this.map(family).get(value);
  }

  /** True once the lazy entries have been built (for tests and diagnostics). */
  get isComplete(): boolean {
    return this.complete;
  }
}
