/**
 * Community alias objects (docs/upstream-behaviour.md §2.7) and BFDProfiles (§2.9). BFD profiles
 * are validated like upstream (`bfdProfileFromCR` in `internal/config/config.go`), but a broken
 * one is a warning, not an error: it disables the peers that use it and nothing else, and an
 * unreferenced profile never matters (upstream fails the whole configuration instead).
 */
import { parseCommunity } from './communities';
import { asObject, FieldReader, Issues, readMeta, show } from './issues';
import { type BfdProfile, type Community, ConfigKind } from './types';

/** Parse every Community object into one alias map; alias names are global (§2.7). */
export function parseCommunityAliases(raws: readonly unknown[], issues: Issues): Map<string, Community> {
  const out = new Map<string, Community>();
  for (const raw of raws) {
    const meta = readMeta(raw);
    const ref = { kind: ConfigKind.Community, namespace: meta.namespace, name: meta.name };
    const specRaw = asObject(raw)?.['spec'];
    const r = new FieldReader(issues, ref, asObject(specRaw) ?? {});
    if (specRaw !== undefined && specRaw !== null && asObject(specRaw) === undefined) r.error('', `spec must be an object, got ${show(specRaw)}`);
    const items = r.list('communities');
    items.forEach((item, i) => {
      const field = `communities[${i}]`;
      const obj = asObject(item);
      if (!obj) {
        r.error(field, `spec.${field} must be an object with name and value, got ${show(item)}`);
        return;
      }
      const ir = new FieldReader(issues, ref, obj, `spec.${field}`);
      const name = ir.string('name') ?? '';
      const value = ir.string('value') ?? '';
      const p = parseCommunity(value);
      if (!p.ok) {
        ir.error('value', `parsing community "${name}": ${p.error}`);
        return;
      }
      if (out.has(name)) {
        ir.error('name', `duplicate definition of community "${name}"`);
        return;
      }
      out.set(name, p.community);
    });
  }
  return out;
}

const BFD_RANGES = [
  ['receiveInterval', 10, 60000],
  ['transmitInterval', 10, 60000],
  ['detectMultiplier', 2, 255],
  ['echoInterval', 10, 60000],
  ['minimumTtl', 1, 254],
] as const;

/**
 * Why a peer using a profile with `echoMode: true` cannot run; src/bfd/profile.ts refuses the
 * same profile with the same words (docs/bfd.md explains why there is no Echo function).
 */
export function bfdEchoRefusal(profile: string): string {
  return (
    `bfd profile ${profile}: echoMode is not supported by metallb-ts; set echoMode: false ` +
    '(failure detection then uses control packets at receiveInterval/transmitInterval)'
  );
}

/** The BFDProfiles: the usable ones by name, and the broken ones (name -> why). */
export interface BfdProfiles {
  readonly profiles: Map<string, BfdProfile>;
  readonly broken: Map<string, string>;
}

/**
 * Parse BFDProfiles (range checks and duplicate names, §2.9, upstream's words). Problems are
 * warnings against the profile; a broken profile is left out and listed in `broken`, so that a
 * peer naming it is disabled with the reason.
 */
export function parseBfdProfiles(raws: readonly unknown[], issues: Issues): BfdProfiles {
  const out = new Map<string, BfdProfile>();
  const broken = new Map<string, string>();
  raws.forEach((raw, index) => {
    const meta = readMeta(raw);
    const ref = { kind: ConfigKind.BFDProfile, namespace: meta.namespace, name: meta.name };
    const spec = asObject(asObject(raw)?.['spec']) ?? {};
    const own = new Issues();
    const r = new FieldReader(own, ref, spec);
    const values: Partial<Record<(typeof BFD_RANGES)[number][0], number>> = {};
    for (const [field, min, max] of BFD_RANGES) {
      const v = spec[field];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        r.error(field, `parsing bfd profile #${index}: invalid ${field} value: invalid value ${show(v)}, must be in ${min}-${max} range`);
        continue;
      }
      values[field] = v;
    }
    const profile: BfdProfile = {
      name: meta.name,
      receiveIntervalMs: values.receiveInterval,
      transmitIntervalMs: values.transmitInterval,
      detectMultiplier: values.detectMultiplier,
      echoIntervalMs: values.echoInterval,
      echoMode: r.bool('echoMode'),
      passiveMode: r.bool('passiveMode'),
      minimumTtl: values.minimumTtl,
    };
    // Two profiles of one name (only possible in files given to `validate`): which one a peer
    // means is unknowable, so the name is broken.
    if (out.has(meta.name) || broken.has(meta.name)) own.error(ref, 'metadata.name', `found duplicate bfd profile name ${meta.name}`);
    if (issues.absorbAsWarnings(own, false)) {
      out.delete(meta.name);
      broken.set(meta.name, own.errors.map((e) => e.message).join('; '));
      return;
    }
    out.set(meta.name, profile);
  });
  return { profiles: out, broken };
}
