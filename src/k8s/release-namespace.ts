/**
 * The release namespace (where the metallb.io objects, Secrets, Leases and ConfigurationStates
 * live) when `--namespace` is not given, for both processes: upstream's chain,
 * `METALLB_NAMESPACE`, else the Pod's service-account namespace file; `metallb-system` last.
 */
import { readFileSync } from 'node:fs';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** `METALLB_NAMESPACE`, else the Pod's namespace, else `metallb-system` (outside a Pod). */
export function defaultNamespace(env: NodeJS.ProcessEnv = process.env): string {
  if (env.METALLB_NAMESPACE) return env.METALLB_NAMESPACE;
  try {
    const ns = readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
    if (ns) return ns;
  } catch {
    // not in a pod
  }
  return 'metallb-system';
}
