/**
 * What a holder does when another station claims one of its VIPs on the wire (an ARP reply,
 * gratuitous ARP or unsolicited NA binding the VIP to a foreign MAC), as a pure function; the
 * shell is l2-election.ts.
 *
 * A claim is evidence only when it comes from a speaker that could rightfully hold the VIP. While
 * the API server is reachable the Lease says who that is, and a claim against a fresh hold of ours
 * is never obeyed. While it is not (our own hold has lapsed: no renewal landed for a lease
 * duration), a successor may have taken the Lease without our seeing it, and the claim is all we
 * have. Obeying any claim then let one forged frame silence a VIP until the API came back, since
 * nobody can take over while it is down. So we yield only to a MAC a live speaker published in
 * the Leases we last saw (docs/speaker.md, "Split-brain guard"), and defend against every other:
 * a gratuitous re-announcement, so caches the claim poisoned point back at us.
 */
import type { LeaseView } from './lease-decision';

/** The node that published `mac` in a Lease, by node. */
export type MacOwners = ReadonlyMap<string, string>;

/** Build `mac -> node` from each node's published MACs (presence and VIP Lease annotations). */
export function macOwnersOf(published: Iterable<readonly [node: string, macs: Iterable<string>]>): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [node, macs] of published) for (const mac of macs) owners.set(mac.toLowerCase(), node);
  return owners;
}

/**
 * The live speaker whose published MAC is `mac`, or undefined for a stranger. Live means: its
 * presence Lease, as we last saw it, names itself (a graceful stop releases it), and our probes
 * have not proven it dead since its last renewal. Expiry is deliberately not checked: this is
 * asked while we are cut off from the API, when every presence in our frozen view has expired,
 * the successor's included.
 */
export function liveClaimant(
  mac: string,
  owners: MacOwners,
  presence: ReadonlyMap<string, { readonly view: LeaseView }>,
  deadOnWire: ReadonlyMap<string, number>,
  me: string,
): string | undefined {
  const node = owners.get(mac.toLowerCase());
  if (node === undefined || node === me) return undefined;
  const view = presence.get(node)?.view;
  if (view === undefined || view.holder !== node) return undefined;
  const deadAt = deadOnWire.get(node);
  if (deadAt !== undefined && view.renewTimeMs <= deadAt) return undefined;
  return node;
}

/** Why a holder stops answering for a VIP another station claims. */
export const YieldReason = {
  /** Our view of the Lease already names another node: we are the stale one. */
  LeaseNamesAnother: 'leaseNamesAnother',
  /** Our hold lapsed (cut off from the API) and a live speaker claims the VIP: its successor took it. */
  LiveClaimant: 'liveClaimant',
} as const;
export type YieldReason = (typeof YieldReason)[keyof typeof YieldReason];

/** One VIP's situation when a claim arrives. */
export interface ClaimSituation {
  readonly me: string;
  readonly announcing: boolean;
  readonly handingOver: boolean;
  /** The holder our view of the Lease names (undefined without a Lease). */
  readonly holder: string | undefined;
  /** No write of ours to this Lease landed within a lease duration. */
  readonly holdLapsed: boolean;
  /** The live speaker that published the claiming MAC, or undefined. */
  readonly claimant: string | undefined;
}

/** What to do about the claim. */
export type ClaimResponse =
  /** We do not announce the VIP: nothing to defend. */
  | { readonly kind: 'ignore' }
  /** The successor of a graceful handover announces: go quiet (make-before-break ends). */
  | { readonly kind: 'handover-done' }
  | { readonly kind: 'yield'; readonly reason: YieldReason }
  /** Keep the VIP and re-announce it; `foreign` when no live speaker published the MAC. */
  | { readonly kind: 'defend'; readonly foreign: boolean };

/** Decide what a claim on one of our VIPs means. */
export function respondToClaim(s: ClaimSituation): ClaimResponse {
  if (!s.announcing) return { kind: 'ignore' };
  if (s.handingOver) return { kind: 'handover-done' };
  if (s.holder !== s.me) return { kind: 'yield', reason: YieldReason.LeaseNamesAnother };
  if (s.holdLapsed && s.claimant !== undefined) return { kind: 'yield', reason: YieldReason.LiveClaimant };
  return { kind: 'defend', foreign: s.claimant === undefined };
}

/** A defence re-announces a VIP at most this often, however many claims arrive (a flood). */
export const DEFEND_INTERVAL_MS = 1_000;

/** Whether to re-announce now, given when the last defence of this VIP went out. */
export function defenceDue(lastDefenceMs: number, nowMs: number, intervalMs = DEFEND_INTERVAL_MS): boolean {
  return nowMs - lastDefenceMs >= intervalMs;
}

/** The Warning Event reason on each Service with a VIP a stranger claims (metallb-ts). */
export const FOREIGN_CLAIM = 'foreignClaim';

/** The Event's message. */
export function foreignClaimMessage(ip: string, mac: string, node: string): string {
  return `${mac}, which is no live speaker, claims IP "${ip}" announced by node "${node}"; the node keeps it and re-announces`;
}
