/**
 * Community alias objects (docs/upstream-behaviour.md §2.7) and BFDProfiles (§2.9). BFD profiles
 * are validated like upstream and then rejected as a whole: metallb-ts's BGP speaker has no BFD,
 * exactly like upstream's native mode (§2.11 `bfd profiles section set`).
 */
import { parseCommunity } from './communities';
import { asObject, FieldReader, type Issues, readMeta, show } from './issues';
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
 * Parse BFDProfiles (range checks and duplicate names, §2.9). Every profile is then reported
 * as unsupported, so any BFDProfile makes the configuration invalid, as in upstream native mode.
 */
export function parseBfdProfiles(raws: readonly unknown[], issues: Issues): Map<string, BfdProfile> {
  const out = new Map<string, BfdProfile>();
  raws.forEach((raw, index) => {
    const meta = readMeta(raw);
    const ref = { kind: ConfigKind.BFDProfile, namespace: meta.namespace, name: meta.name };
    const spec = asObject(asObject(raw)?.['spec']) ?? {};
    const r = new FieldReader(issues, ref, spec);
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
    if (out.has(meta.name)) {
      issues.error(ref, 'metadata.name', `found duplicate bfd profile name ${meta.name}`);
      return;
    }
    out.set(meta.name, profile);
    issues.error(ref, 'spec', 'bfd profiles section set: BFD is not supported by metallb-ts (as in upstream native BGP mode)');
  });
  return out;
}
