/**
 * An OCI runtime spec (config.json for runc) for one container of a pod, made the way a CRI
 * runtime makes it from the image config and the container's Kubernetes securityContext:
 * containerd's default capability set, `drop`/`add` applied on top, `runAsUser`/`runAsGroup` over
 * the image's USER, `allowPrivilegeEscalation: false` as no_new_privs, `readOnlyRootFilesystem` as a
 * read-only root. Deliberately without `process.rlimits`: root on the lab machines lacks
 * CAP_SYS_RESOURCE, so raising a hard limit past the machine's own (RLIMIT_NOFILE 20000 there;
 * container defaults ask up to 1048576) fails with "error setting rlimits ... operation not
 * permitted". Pure.
 */
import type { ImageConfig } from './manifest';

/** The parts of a container's securityContext that shape the process. */
export interface ContainerSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  /** Pod-level only (PodSecurityContext); merged in by {@link effectiveSecurityContext}. */
  fsGroup?: number;
  supplementalGroups?: number[];
}

/**
 * The container's securityContext over the pod's, as the kubelet merges them: runAsUser,
 * runAsGroup and runAsNonRoot fall back to the pod's; fsGroup and supplementalGroups are pod-only.
 */
export function effectiveSecurityContext(pod: ContainerSecurityContext = {}, container: ContainerSecurityContext = {}): ContainerSecurityContext {
  const merged: ContainerSecurityContext = { ...container };
  for (const key of ['runAsUser', 'runAsGroup', 'runAsNonRoot'] as const) {
    if (merged[key] === undefined && pod[key] !== undefined) Object.assign(merged, { [key]: pod[key] });
  }
  if (pod.fsGroup !== undefined) merged.fsGroup = pod.fsGroup;
  if (pod.supplementalGroups !== undefined) merged.supplementalGroups = pod.supplementalGroups;
  return merged;
}

/** containerd's default capabilities for a CRI container (pkg/oci's defaultUnixCaps). */
export const CRI_DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const capName = (c: string): string => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);

/** The capability set after Kubernetes' drop-then-add (`ALL` drops every default). */
export function capabilitySet(sc: ContainerSecurityContext): string[] {
  const drop = (sc.capabilities?.drop ?? []).map(capName);
  let caps = drop.includes('CAP_ALL') ? [] : CRI_DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));
  for (const add of (sc.capabilities?.add ?? []).map(capName)) if (!caps.includes(add)) caps = [...caps, add];
  return caps;
}

/** `USER uid[:gid]` of an image config, numeric only (runAsNonRoot needs numbers anyway). */
export function imageUser(user: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(user === '' ? '0' : user);
  if (!m) throw new Error(`USER ${user} is not numeric`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
}

/** What the container asks for beyond the image. */
export interface ContainerRequest {
  image: ImageConfig;
  securityContext?: ContainerSecurityContext;
  /** Kubernetes `command` replaces ENTRYPOINT (and drops CMD); `args` replaces CMD. */
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  hostNetwork?: boolean;
  hostname?: string;
  /** The primary group of a uid in the image's /etc/passwd, for runAsUser without runAsGroup. */
  passwdGid?: (uid: number) => number | undefined;
}

/** A runc config.json for the container, with the root filesystem at `rootfs` (bundle-relative). */
export function runtimeSpec(req: ContainerRequest, rootfs = 'rootfs'): Record<string, unknown> {
  const sc = req.securityContext ?? {};
  const fromImage = imageUser(req.image.user);
  const uid = sc.runAsUser ?? fromImage.uid;
  const gid = sc.runAsGroup ?? (sc.runAsUser !== undefined ? (req.passwdGid?.(uid) ?? 0) : fromImage.gid);
  if (sc.runAsNonRoot === true && uid === 0) throw new Error('runAsNonRoot: the container would run as uid 0');
  const caps = capabilitySet(sc);
  const args = [...(req.command ?? req.image.entrypoint), ...(req.args ?? (req.command ? [] : req.image.cmd))];
  const env = { ...req.image.env, ...(req.env ?? {}) };
  const namespaces = ['pid', 'ipc', 'uts', 'mount', ...(req.hostNetwork ? [] : ['network'])].map((type) => ({ type }));
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid, gid, additionalGids: [...new Set([...(sc.fsGroup === undefined ? [] : [sc.fsGroup]), ...(sc.supplementalGroups ?? [])])] },
      args,
      env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      cwd: req.image.workdir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      noNewPrivileges: sc.allowPrivilegeEscalation === false,
    },
    root: { path: rootfs, readonly: sc.readOnlyRootFilesystem === true },
    hostname: req.hostname ?? 'lab',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      // A writable /tmp as the pod's emptyDir would give a read-only-root container.
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    ],
    linux: {
      namespaces,
      maskedPaths: ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'],
      readonlyPaths: ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** Linux capability numbers (include/uapi/linux/capability.h) for reading CapEff masks. */
const CAP_NUMBERS: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5, CAP_SETGID: 6,
  CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9, CAP_NET_BIND_SERVICE: 10, CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15, CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20, CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25, CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28, CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30, CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
};

/** The names in a /proc/<pid>/status capability mask (e.g. `0000000000002000` → CAP_NET_RAW). */
export function capabilityNames(hexMask: string): string[] {
  const mask = BigInt(`0x${hexMask}`);
  const byNumber = new Map(Object.entries(CAP_NUMBERS).map(([name, bit]) => [bit, name]));
  const names: string[] = [];
  // Every set bit is reported, an unnamed one as its number, so no capability goes unseen.
  for (let bit = 0; bit < 64; bit++) if ((mask >> BigInt(bit)) & 1n) names.push(byNumber.get(bit) ?? `capability ${bit}`);
  return names;
}
