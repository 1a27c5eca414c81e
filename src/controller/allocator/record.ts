/**
 * How the allocator keeps one Service's allocation. The `Allocation` interface hands out
 * `ips` as IpAddr objects, but holding them that way costs an array, its backing store and one
 * object per address for every Service. At 100,000 Services those retained objects are most of
 * what the garbage collector copies and marks (bench/allocator.ts), so the record keeps the
 * address values in fields and builds the IpAddr list when someone reads `ips`. The IPv4 value is
 * kept as a 32-bit integer, which V8 stores inside the record (a BigInt is one more object).
 */
import type { IpAddr } from '../../net/ip';
import type { Allocation, Port } from './types';

/** One Service's recorded allocation: one or two addresses, never two of one family. */
export class AllocationRecord implements Allocation {
  readonly pool: string;
  readonly ports: readonly Port[];
  readonly sharingKey: string;
  readonly backendKey: string;
  /** The IPv4 address as a signed 32-bit integer (always a small integer to V8), if any. */
  private readonly v4Bits: number | undefined;
  /** The IPv6 address, if any. */
  readonly v6: bigint | undefined;
  /** True when the IPv6 address comes first in `ips` (a Service whose primary family is IPv6). */
  private readonly v6First: boolean;

  private constructor(pool: string, v4: bigint | undefined, v6: bigint | undefined, v6First: boolean, ports: readonly Port[], sharingKey: string, backendKey: string) {
    this.pool = pool;
    this.v4Bits = v4 === undefined ? undefined : Number(v4) | 0;
    this.v6 = v6;
    this.v6First = v6First;
    this.ports = ports;
    this.sharingKey = sharingKey;
    this.backendKey = backendKey;
  }

  /**
   * Record `ips`, which the allocator has checked: one or two addresses, at most one per
   * family. Anything else is a programming error and throws rather than losing an address.
   */
  static create(pool: string, ips: readonly IpAddr[], ports: readonly Port[], sharingKey: string, backendKey: string): AllocationRecord {
    const first = ips[0];
    const second = ips[1];
    if (first === undefined || ips.length > 2 || (second !== undefined && second.family === first.family)) {
      throw new Error(`allocation record needs one IP or two of different families, got ${ips.length}`);
    }
    let v4: bigint | undefined;
    let v6: bigint | undefined;
    for (const ip of ips) {
      if (ip.family === 4) v4 = ip.value;
      else v6 = ip.value;
    }
    return new AllocationRecord(pool, v4, v6, first.family === 6 && second !== undefined, ports, sharingKey, backendKey);
  }

  /** The IPv4 address, if any. */
  get v4(): bigint | undefined {
    return this.v4Bits === undefined ? undefined : BigInt(this.v4Bits >>> 0);
  }

  /** True if this allocation includes the address. */
  holds(ip: IpAddr): boolean {
    return ip.family === 4 ? this.v4 === ip.value : this.v6 === ip.value;
  }

  /** The same allocation, recorded under another pool name (a renamed or split pool). */
  inPool(pool: string): AllocationRecord {
    return new AllocationRecord(pool, this.v4, this.v6, this.v6First, this.ports, this.sharingKey, this.backendKey);
  }

  /** The addresses in the order they were assigned (a fresh array on every read). */
  get ips(): IpAddr[] {
    const out: IpAddr[] = [];
    if (this.v6First && this.v6 !== undefined) out.push({ family: 6, value: this.v6 });
    const v4 = this.v4;
    if (v4 !== undefined) out.push({ family: 4, value: v4 });
    if (!this.v6First && this.v6 !== undefined) out.push({ family: 6, value: this.v6 });
    return out;
  }
}
