/**
 * Which watch events on the configuration's collections (config-sources.ts) can change a parse:
 * a metallb.io object's spec (its generation), a Secret's content, a Node's or Namespace's
 * labels (docs/upstream-behaviour.md §2.1). Status writes (the controller's IPAddressPool
 * counters, one per pool) and Node heartbeats change none of them, so they must not cost a parse.
 */
import type { ConfigSource } from './config-sources';
import { type InformerEvent, type KubeObject, objectKey } from './informer';

/** What of an object a parse reads: equal states mean an event changed nothing for the config. */
function relevantState(source: ConfigSource, o: KubeObject): string {
  if (source.field === 'nodes' || source.field === 'namespaces') return JSON.stringify(o.metadata?.labels ?? {});
  if (source.field === 'secrets') return o.metadata?.resourceVersion ?? '';
  return String(o.metadata?.generation ?? o.metadata?.resourceVersion ?? '');
}

/** Remembers the relevant state of every object seen, to tell changes from no-ops. */
export class ConfigChangeFilter {
  private readonly lastSeen = new Map<string, string>();

  /** True when this event may change the parsed configuration. */
  changed(source: ConfigSource, event: InformerEvent, o: KubeObject): boolean {
    const key = `${source.field}/${objectKey(o)}`;
    if (event === 'delete') {
      this.lastSeen.delete(key);
      return true;
    }
    const state = relevantState(source, o);
    if (this.lastSeen.get(key) === state) return false;
    this.lastSeen.set(key, state);
    return true;
  }
}
