/**
 * BGPPeer parsing (docs/upstream-behaviour.md §2.8) for v1beta2 objects and v1beta1-shaped ones
 * (same JSON field names; v1beta1 lacks the newer fields). Every field of upstream's FRR mode
 * (`api/v1beta2/bgppeer_types.go` in metallb/metallb) is accepted and modelled; only `vrf` is
 * refused, because this speaker has no VRF devices. `interface` (unnumbered) peers are served
 * (docs/bgp.md "Unnumbered (`interface`) sessions").
 *
 * Deliberate difference from upstream: a problem in one BGPPeer (or in the BFDProfile it names)
 * does not make the configuration invalid. That peer is disabled, its problems become warnings
 * marked `disablesPeer`, and every other peer, pool and advertisement keeps working. Upstream
 * fails the whole configuration, so on a fresh install the speaker announces nothing at all.
 */
import { canonicalIp } from '../net/ip';
import { parseKubeIp } from './kube-ip';
import { parseGoDuration } from './duration';
import { bfdEchoRefusal, type BfdProfiles } from './bfd-and-communities';
import { asObject, FieldReader, Issues, type Meta, readMeta, show } from './issues';
import { readSelectorList } from './selector-list';
import { matchesAny } from './selectors';
import { ConfigKind, type DynamicAsn, type Peer } from './types';

const UINT32_MAX = 4294967295;
/** Hold time travels in a 2-octet OPEN field (RFC 4271 §4.2). */
const MAX_HOLD_SEC = 65535;
const BASIC_AUTH = 'kubernetes.io/basic-auth';

interface Timers {
  holdTimeSec: number | undefined;
  keepaliveTimeSec: number | undefined;
}

function readDuration(r: FieldReader, field: string): { text: string; sec: number } | undefined {
  const text = r.string(field);
  if (text === undefined) return undefined;
  const sec = parseGoDuration(text);
  if (sec === undefined) {
    r.error(field, `invalid BGPPeer timers: invalid duration ${show(text)} in ${field}`);
    return undefined;
  }
  return { text, sec };
}

/** `parseTimers`: derive the missing timer, then upstream's checks plus the 16-bit bound. */
function parseTimers(r: FieldReader): Timers {
  const hold = readDuration(r, 'holdTime');
  const kaRaw = readDuration(r, 'keepaliveTime');
  // Upstream native ignores a zero keepaliveTime (its own samples pair `holdTime: 9m0s` with
  // `keepaliveTime: 0s`), deriving hold/3; "0" must not mean "never send KEEPALIVE" there.
  const ka = kaRaw !== undefined && kaRaw.sec === 0 && hold !== undefined ? undefined : kaRaw;
  if (hold === undefined && ka === undefined) return { holdTimeSec: undefined, keepaliveTimeSec: undefined };
  // Durations count in whole seconds on the wire; upstream truncates the same way.
  const holdSec = hold !== undefined ? Math.trunc(hold.sec) : Math.trunc(3 * (ka?.sec ?? 0));
  const kaSec = ka !== undefined ? Math.trunc(ka.sec) : Math.trunc(holdSec / 3);
  const holdText = hold?.text ?? `${holdSec}s`;
  if (holdSec !== 0 && holdSec < 3) {
    r.error('holdTime', `invalid BGPPeer timers: invalid hold time "${holdText}": must be 0 or >=3s`);
  } else if (holdSec > MAX_HOLD_SEC) {
    r.error('holdTime', `invalid BGPPeer timers: invalid hold time "${holdText}": must be at most ${MAX_HOLD_SEC}s`);
  }
  if (ka !== undefined && hold !== undefined && ka.sec > hold.sec) {
    r.error('keepaliveTime', `invalid BGPPeer timers: invalid keepaliveTime "${ka.text}", must be lower than holdTime "${hold.text}"`);
  } else if (ka !== undefined && ka.sec < 0) {
    r.error('keepaliveTime', `invalid BGPPeer timers: invalid keepaliveTime "${ka.text}": must not be negative`);
  }
  return { holdTimeSec: holdSec, keepaliveTimeSec: kaSec };
}

function parseConnectTime(r: FieldReader): number | undefined {
  const d = readDuration(r, 'connectTime');
  if (d === undefined) return undefined;
  // The CRD's CEL rules, in upstream's words.
  if (!Number.isInteger(d.sec)) {
    r.error('connectTime', `connect time should contain a whole number of seconds, got "${d.text}"`);
    return undefined;
  }
  if (d.sec < 1 || d.sec > 65535) {
    r.error('connectTime', `connect time should be between 1 seconds to 65535, got "${d.text}"`);
    return undefined;
  }
  return d.sec;
}

function decodeBase64(s: string): string {
  return Buffer.from(s, 'base64').toString('utf8');
}

/**
 * Resolve `passwordSecret` against the Secrets given to the parser (§2.8 rule 11). Upstream looks
 * the Secret up by name in the MetalLB namespace and never reads `passwordSecret.namespace`; so do
 * we (the speakers only list that namespace's Secrets, and `validate` must agree with them), with
 * a warning when the field names another namespace. Failing instead made the whole configuration
 * invalid for a field upstream ignores.
 */
function resolveSecretPassword(r: FieldReader, secretName: string, secretNs: string, peerNs: string, secrets: readonly unknown[]): string {
  if (secretNs !== '' && peerNs !== '' && secretNs !== peerNs) {
    r.issues.warn(
      r.ref,
      'spec.passwordSecret.namespace',
      `passwordSecret.namespace "${secretNs}" is ignored: the Secret "${secretName}" is read from the peer's namespace "${peerNs}", as upstream does`,
    );
  }
  const secret = secrets.find((s) => {
    const m = readMeta(s);
    return m.name === secretName && (m.namespace === peerNs || m.namespace === '' || peerNs === '');
  });
  if (secret === undefined) {
    r.error('passwordSecret', `secret ref not found for peer config "${secretNs}"/"${secretName}"`, true);
    return '';
  }
  const obj = asObject(secret) ?? {};
  if (obj['type'] !== BASIC_AUTH) {
    r.error('passwordSecret', `secret type mismatch on "${secretNs}"/"${secretName}", type "${BASIC_AUTH}" is expected `);
    return '';
  }
  // The apiserver folds stringData into data; manifests read by `validate` may still carry it.
  const plain = asObject(obj['stringData'])?.['password'];
  if (typeof plain === 'string') return plain;
  const b64 = asObject(obj['data'])?.['password'];
  if (typeof b64 === 'string') return decodeBase64(b64);
  r.error('passwordSecret', `password not specified in the secret "${secretNs}"/"${secretName}"`);
  return '';
}

/** Fields of upstream's FRR mode this speaker cannot serve: the peer is disabled with the reason. */
function speakerRestrictions(r: FieldReader, vrf: string | undefined): void {
  if (vrf !== undefined) r.error('vrf', `vrf is not supported by this speaker (vrf ${show(vrf)}): it opens sessions from the default VRF only`);
}

/** `bfdProfile`: must name a valid profile (transient, as upstream) without echoMode. */
function checkBfdProfile(r: FieldReader, peerName: string, name: string, bfd: BfdProfiles): void {
  const profile = bfd.profiles.get(name);
  if (profile?.echoMode) r.error('bfdProfile', bfdEchoRefusal(name));
  else if (bfd.broken.has(name)) r.error('bfdProfile', `peer ${peerName} referencing invalid bfd profile ${name}: ${bfd.broken.get(name) ?? ''}`);
  else if (!profile) r.error('bfdProfile', `peer ${peerName} referencing non existing bfd profile ${name}`, true);
}

function parsePeer(raw: unknown, meta: Meta, issues: Issues, secrets: readonly unknown[], bfd: BfdProfiles): Peer {
  const ref = { kind: ConfigKind.BGPPeer, namespace: meta.namespace, name: meta.name };
  const specRaw = asObject(raw)?.['spec'];
  const r = new FieldReader(issues, ref, asObject(specRaw) ?? {});
  if (specRaw !== undefined && specRaw !== null && asObject(specRaw) === undefined) r.error('', `spec must be an object, got ${show(specRaw)}`);

  const unset = (v: unknown): boolean => v === undefined || v === null || v === 0;
  const myASN = r.int('myASN', 0, UINT32_MAX) ?? 0;
  if (unset(r.spec['myASN'])) r.error('myASN', 'missing local ASN');
  const peerASN = r.int('peerASN', 0, UINT32_MAX) ?? 0;
  const dynRaw = r.string('dynamicASN');
  let dynamicASN: DynamicAsn | undefined;
  if (dynRaw !== undefined && dynRaw !== '') {
    if (dynRaw === 'internal' || dynRaw === 'external') dynamicASN = dynRaw;
    else r.error('dynamicASN', `invalid dynamicASN ${dynRaw}`);
  }
  if (unset(r.spec['peerASN']) && (dynRaw === undefined || dynRaw === '')) r.error('peerASN', 'missing peer ASN and dynamicASN');
  if (peerASN !== 0 && dynRaw !== undefined && dynRaw !== '') r.error('dynamicASN', 'both peer ASN and dynamicASN specified');
  const ebgpMultiHop = r.bool('ebgpMultiHop');
  if (peerASN !== 0 && peerASN === myASN && ebgpMultiHop) r.error('ebgpMultiHop', 'invalid ebgp-multihop parameter set for an ibgp peer');

  const addrRaw = r.string('peerAddress') ?? '';
  const iface = r.string('interface') ?? '';
  if (addrRaw === '' && iface === '') r.error('peerAddress', 'peer has no Address or Interface specified');
  if (addrRaw !== '' && iface !== '') r.error('interface', 'peer has both Address and Interface specified');

  const timers = parseTimers(r);
  const connectTimeSec = parseConnectTime(r);

  // Addresses as the CRDs' isIP accepts them (no IPv4-mapped IPv6), so a cluster whose CRDs lack
  // that rule (Kubernetes < 1.31, docs/install.md) refuses the same peers with the same words.
  const addr = addrRaw === '' ? undefined : parseKubeIp(addrRaw);
  if (addrRaw !== '' && addr === undefined) r.error('peerAddress', `invalid BGPPeer address "${addrRaw}"`);
  const routerIDRaw = r.string('routerID') ?? '';
  const rid = routerIDRaw === '' ? undefined : parseKubeIp(routerIDRaw);
  if (routerIDRaw !== '' && rid === undefined) r.error('routerID', `invalid router ID "${routerIDRaw}"`);
  if (rid?.family === 6) {
    // Upstream's native speaker crashes on this (§5.9); the BGP Identifier is 4 octets.
    r.error('routerID', `invalid router ID "${routerIDRaw}": the BGP identifier must be an IPv4 address (RFC 6286)`);
  }
  const srcRaw = r.string('sourceAddress') ?? '';
  const src = srcRaw === '' ? undefined : parseKubeIp(srcRaw);
  if (srcRaw !== '' && src === undefined) r.error('sourceAddress', `invalid source IP "${srcRaw}"`);
  if (src && addr && src.family !== addr.family) {
    r.error('sourceAddress', `source IP "${srcRaw}" and peer address "${addrRaw}" are of different address families`);
  }

  const nodeSelectors = readSelectorList(r, 'nodeSelectors');

  const password = r.string('password') ?? '';
  let resolvedPassword = password;
  let passwordSecret: Peer['passwordSecret'];
  const secretRaw = r.spec['passwordSecret'];
  if (secretRaw !== undefined && secretRaw !== null) {
    const sr = new FieldReader(issues, ref, asObject(secretRaw) ?? {}, 'spec.passwordSecret');
    if (asObject(secretRaw) === undefined) r.error('passwordSecret', `spec.passwordSecret must be an object, got ${show(secretRaw)}`);
    const name = sr.string('name') ?? '';
    const namespace = sr.string('namespace') ?? meta.namespace;
    if (name !== '') {
      passwordSecret = { name, namespace };
      if (password !== '') {
        r.error('passwordSecret', `can not have both password and secret ref set in peer config "${meta.namespace}"/"${meta.name}"`);
      } else {
        resolvedPassword = resolveSecretPassword(r, name, namespace, meta.namespace, secrets);
      }
    }
  }
  // A key ending in a line break is almost always a Secret made with `echo pw | base64`: it is a
  // valid key, but not the one the router has, and the session then just never comes up.
  if (/[\r\n]$/.test(resolvedPassword)) {
    r.issues.warn(ref, passwordSecret ? 'spec.passwordSecret' : 'spec.password', `password for peer ${addrRaw} ends with a line break, which is part of the TCP-MD5 key (a Secret encoded from "echo", not "echo -n"?)`);
  }
  // TCP-MD5 keys are at most 80 octets (RFC 2385 implementations, Linux TCP_MD5SIG_MAXKEYLEN).
  if (Buffer.byteLength(resolvedPassword, 'utf8') > 80) r.error('password', `password for peer ${addrRaw} is longer than 80 bytes (TCP-MD5 key limit)`);
  // The key reaches setsockopt as a C string (native/addon.c arg_string), which cannot hold a NUL:
  // refused here, naming the peer, rather than by every session attempt at socket time.
  if (resolvedPassword.includes('\0')) {
    r.error(passwordSecret ? 'passwordSecret' : 'password', `password for peer ${addrRaw} contains a NUL byte, which a TCP-MD5 key cannot hold`);
  }

  const bfdProfile = r.string('bfdProfile') || undefined;
  if (bfdProfile !== undefined) checkBfdProfile(r, meta.name, bfdProfile, bfd);
  const vrf = r.string('vrf') || undefined;
  speakerRestrictions(r, vrf);

  return {
    name: meta.name,
    myASN,
    peerASN,
    dynamicASN,
    localASN: r.int('localASN', 1, UINT32_MAX),
    address: addr === undefined ? undefined : canonicalIp(addrRaw),
    addressFamily: addr?.family,
    interface: iface === '' ? undefined : iface,
    port: r.int('peerPort', 0, 16384) || 179,
    sourceAddress: src === undefined ? undefined : canonicalIp(srcRaw),
    holdTimeSec: timers.holdTimeSec,
    keepaliveTimeSec: timers.keepaliveTimeSec,
    connectTimeSec,
    routerID: rid === undefined ? undefined : canonicalIp(routerIDRaw),
    nodeSelectors,
    password: resolvedPassword,
    passwordSecret,
    bfdProfile,
    enableGracefulRestart: r.bool('enableGracefulRestart'),
    ebgpMultiHop,
    vrf,
    disableMP: r.bool('disableMP'),
    dualStackAddressFamily: r.bool('dualStackAddressFamily'),
  };
}

/** Node labels known to the parser, to decide whether two peers can share a node. */
export type NodeList = readonly Meta[];

function shareANode(a: Peer, b: Peer, nodes: NodeList): boolean {
  // Like upstream's FRR check: with no nodes known, assume they can share one.
  if (nodes.length === 0) return true;
  return nodes.some((n) => matchesAny(a.nodeSelectors, n.labels) && matchesAny(b.nodeSelectors, n.labels));
}

/** The BGPPeers: the usable ones (sorted by name), the disabled ones (name -> why), every name. */
export interface ParsedPeers {
  readonly peers: Peer[];
  readonly disabled: Map<string, string>;
  readonly names: Set<string>;
}

/**
 * Parse every BGPPeer (sorted by name). Each peer's problems are collected apart and, if there
 * are any, disable that peer only (see the file comment). Two peers dialling the same address and
 * port from a common node: the later one is disabled. Upstream native accepts them and opens two
 * colliding sessions (§5.9); upstream's FRR modes reject them with the same "already exists"
 * wording. Two objects of one name (only in files given to `validate`) stay an error.
 */
export function parsePeers(raws: readonly unknown[], issues: Issues, secrets: readonly unknown[], bfd: BfdProfiles, nodes: NodeList): ParsedPeers {
  const out: Peer[] = [];
  const disabled = new Map<string, string>();
  const names = new Set<string>();
  for (const raw of raws) {
    const meta = readMeta(raw);
    const ref = { kind: ConfigKind.BGPPeer, namespace: meta.namespace, name: meta.name };
    if (names.has(meta.name)) {
      issues.error(ref, 'metadata.name', `peer ${meta.name} already exists`);
      continue;
    }
    names.add(meta.name);
    const own = new Issues();
    const peer = parsePeer(raw, meta, own, secrets, bfd);
    if (peer.address !== undefined && own.errors.length === 0) {
      const clash = out.find((p) => p.address === peer.address && p.port === peer.port && shareANode(p, peer, nodes));
      if (clash) {
        own.error(
          ref,
          'spec.peerAddress',
          `peer ${peer.address} already exists in BGPPeer "${clash.name}" and both select the same node; two sessions to one peer would collide`,
        );
      }
    }
    if (issues.absorbAsWarnings(own, true)) disabled.set(meta.name, own.errors.map((e) => e.message).join('; '));
    else out.push(peer);
  }
  return { peers: out, disabled, names };
}
