/**
 * The soak and chaos run (docs/soak.md): a whole installation in the lab (real apiserver,
 * controller x2 with leader election, three speakers, FRR, a client), a workload that creates,
 * edits and deletes Services and pools, a fault injector, and a checker that observes from
 * outside (ARP/NDP answers at the client, FRR's BGP table, Service status) and keeps every
 * invariant with timestamps. `runSoak` resolves with the summary the CLI prints as JSON.
 */
import { mkdirSync, readdirSync, readFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster } from '../../test/harness/cluster';
import { delay } from '../../test/harness/lab';
import { startFrr } from '../../test/harness/routers/frr';
import { repoRoot } from '../../test/harness/tools';
import { FaultKind, injectFault, startSupervisor, type FaultContext, type FaultRecord } from './faults';
import {
  allWindows,
  changeCause,
  crashLines,
  dropWindow,
  emptyWindows,
  growthSuspect,
  observeWindow,
  outageAllowanceMs,
  prng,
  rssGrowth,
  sameIps,
  sharingConflicts,
  ViolationKind,
  windowStats,
  type Assignment,
  type Outage,
  type RssSample,
  type Violation,
  type WindowState,
} from './invariants';
import { listServices, probeBgp, probeL2, rssMB, type ServiceView } from './probes';
import { baseConfig, newWorkload, SOAK_NAMESPACE, step } from './workload';

/** Options of {@link runSoak}. */
export interface SoakOptions {
  readonly minutes: number;
  readonly seed: number;
  /** Progress lines (stderr in the CLI). */
  readonly out: (line: string) => void;
}

/** Bounds of the allowed transition windows. */
export const BOUNDS = { l2Ms: 15_000, bgpMs: 40_000, sharingMs: 20_000, settleMs: 90_000, recoveryMs: 20_000 } as const;
const CAUSE_SLACK_MS = 3_000;
/** A sharing conflict within this long after an edit of either Service is a transition, not a violation. */
const EDIT_RECENT_MS = 30_000;

const FAULT_CYCLE: readonly FaultKind[] = [
  FaultKind.SpeakerKill,
  FaultKind.BgpClear,
  FaultKind.ControllerKill,
  FaultKind.LinkFlap,
  FaultKind.SpeakerTerm,
  FaultKind.ApiserverRestart,
  FaultKind.ControllerTerm,
];

/** The JSON summary. */
export interface SoakSummary {
  readonly minutes: number;
  readonly seed: number;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly checks: number;
  readonly ops: Record<string, number>;
  readonly opErrors: number;
  readonly faults: Record<string, number>;
  readonly violationCount: number;
  readonly violations: readonly (Violation & { readonly at: string })[];
  readonly l2Windows: ReturnType<typeof windowStats>;
  readonly bgpWindows: ReturnType<typeof windowStats>;
  readonly sharingWindows: ReturnType<typeof windowStats>;
  readonly assignmentChanges: { readonly caused: number; readonly uncaused: number };
  readonly lostLeadershipRestarts: number;
  readonly rss: ReturnType<typeof rssGrowth>;
  readonly settledMs: number;
  readonly eventsFile: string;
}

/** Run the soak for `opts.minutes`, then let everything settle and summarise. */
export async function runSoak(opts: SoakOptions): Promise<SoakSummary> {
  // The harness's teardowns run first-in first-out, as tap runs them (control plane, then the lab,
  // which ends the apiserver bridges; closing the bridge server before that would wait forever).
  const teardowns: Array<() => unknown> = [];
  const t = { teardown: (fn: () => unknown) => teardowns.push(fn) };
  const own: Array<() => unknown> = [];
  const now = (): number => Date.now();
  const startedAt = now();
  const outDir = join(repoRoot, '.cache', 'soak', new Date(startedAt).toISOString().replace(/[:.]/g, '-'));
  mkdirSync(outDir, { recursive: true });
  const eventsFile = join(outDir, 'events.jsonl');
  const event = (e: Record<string, unknown>): void => appendFileSync(eventsFile, `${JSON.stringify({ at: new Date().toISOString(), ...e })}\n`);
  const rand = prng(opts.seed);
  const violations: Violation[] = [];
  const violate = (kind: Violation['kind'], subject: string, detail: string, atMs = now()): void => {
    violations.push({ atMs, kind, subject, detail });
    event({ violation: kind, subject, detail });
    opts.out(`VIOLATION ${new Date(atMs).toISOString()} ${kind} ${subject}: ${detail}`);
  };

  try {
    opts.out(`soak: ${opts.minutes} min, seed ${opts.seed}, events in ${eventsFile}`);
    const c = await startCluster(t, {
      nodes: 3,
      client: true,
      speakerArgs: ['--l2-renew-interval', '2s', '--l2-lease-duration', '6s', '--log-level', 'info'],
    });
    const frr = await startFrr(c.lab, {
      asn: 64501,
      routerId: c.lab.router.ipv4,
      listenRanges: [{ range: '10.77.0.0/24', remoteAs: 64500, families: ['ipv4', 'ipv6'] }],
      maximumPaths: 8,
      zebra: false,
      holdTimeSec: 9,
      keepaliveSec: 3,
    });
    own.unshift(() => frr.stop());
    await c.apply(baseConfig());
    await c.core.createNamespace({ body: { metadata: { name: SOAK_NAMESPACE } } });
    const sup = startSupervisor(c, now);
    own.unshift(() => sup.stopAll());
    await sup.ensureAll();
    const nodeByPeer = new Map(c.lab.nodes.flatMap((n) => [[n.ipv4, n.name] as const, [n.ipv6, n.name] as const]));
    const nodeByMac = new Map(c.lab.nodes.map((n) => [n.mac.toLowerCase(), n.name] as const));
    opts.out(`soak: cluster up in ${((now() - startedAt) / 1000).toFixed(1)} s; lab ${c.lab.dir}`);

    const w = newWorkload();
    const ctx: FaultContext = { c, frr, sup, rand, now, linkDown: new Set(), apiserverDown: false };
    let faultActive = false;
    const faultLog: FaultRecord[] = [];
    const outages: Outage[] = [];
    const CONTROL_PLANE_FAULTS: readonly FaultKind[] = [FaultKind.ApiserverRestart, FaultKind.ControllerKill, FaultKind.ControllerTerm];
    const bound = (base: number, st: WindowState, subject: string, at: number): number => base + outageAllowanceMs(outages, st.open.get(subject)?.startMs ?? at, at, BOUNDS.recoveryMs);
    const runStart = now();
    const deadline = runStart + opts.minutes * 60_000;
    let stopLoad = false;
    let opErrors = 0;

    const workload = (async () => {
      while (!stopLoad && now() < deadline) {
        if (!ctx.apiserverDown) {
          try {
            const what = await step(c, w, rand, now);
            event({ op: what });
          } catch (err) {
            opErrors++;
            event({ opError: String(err).slice(0, 300) });
          }
        }
        await delay(1500 + Math.floor(rand() * 2500));
      }
    })();

    const faults = (async () => {
      // Short (CI) runs warm up and wind down faster, to fit more faults into their minutes.
      const short = opts.minutes < 5;
      await delay(short ? 10_000 : 20_000);
      let i = 0;
      // Leave the last 20-30 s without faults so the run ends on a converged system.
      while (now() < deadline - (short ? 20_000 : 30_000)) {
        const kind = i < FAULT_CYCLE.length ? FAULT_CYCLE[i]! : FAULT_CYCLE[Math.floor(rand() * FAULT_CYCLE.length)]!;
        i++;
        faultActive = true;
        event({ faultStart: kind });
        const outage = CONTROL_PLANE_FAULTS.includes(kind) ? { startMs: now() } : undefined;
        if (outage) outages.push(outage);
        try {
          const rec = await injectFault(ctx, kind);
          if (outage) outages[outages.indexOf(outage)] = { ...outage, endMs: now() };
          faultLog.push(rec);
          event({ faultEnd: kind, target: rec.target, ms: rec.endMs - rec.startMs });
          opts.out(`fault ${kind} on ${rec.target} (${rec.endMs - rec.startMs} ms)`);
        } catch (err) {
          event({ faultError: kind, err: String(err).slice(0, 300) });
          opts.out(`fault ${kind} failed: ${String(err)}`);
        } finally {
          faultActive = false;
        }
        await delay(8000 + Math.floor(rand() * 7000));
      }
    })();

    // Checker state.
    let l2: WindowState = emptyWindows();
    let bgp: WindowState = emptyWindows();
    let sharing: WindowState = emptyWindows();
    const last = new Map<string, Assignment>();
    let services: ServiceView[] = [];
    const changes = { caused: 0, uncaused: 0 };
    const rss: RssSample[] = [];
    let checks = 0;
    let lastRss = 0;
    let seenExits = 0;
    let seenHung = 0;

    const checkOnce = async (): Promise<boolean> => {
      const t0 = now();
      checks++;
      if (!faultActive) await sup.ensureAll().catch(() => undefined);
      for (; seenExits < sup.unexpected.length; seenExits++) {
        const x = sup.unexpected[seenExits]!;
        event({ unexpectedExit: x.role, code: x.code, signal: x.signal, lostLeadership: x.lostLeadership });
        if (!x.lostLeadership) violate(ViolationKind.Crash, x.role, `exited code ${x.code} signal ${x.signal}`, x.atMs);
      }
      for (; seenHung < sup.hung.length; seenHung++) {
        const h = sup.hung[seenHung]!;
        violate(ViolationKind.ExitTimeout, h.role, `still running ${h.waitedMs} ms after SIGTERM; killed`, h.atMs);
      }
      if (!ctx.apiserverDown) {
        try {
          services = await listServices(c, SOAK_NAMESPACE);
        } catch {
          // The apiserver is restarting: judge the data plane against the last known Services.
        }
      }
      const readAt = now();
      // 1. Sharing: two Services on one IP must be allowed to share it.
      const conflicts = sharingConflicts(services);
      const conflictKeys = new Set(conflicts.map((x) => `${x.ip} ${x.a} ${x.b}`));
      for (const x of conflicts) {
        const subject = `${x.ip} ${x.a} ${x.b}`;
        const edited = w.causes.some((k) => (k.service === x.a || k.service === x.b || k.pool !== undefined) && readAt - k.atMs < EDIT_RECENT_MS);
        if (!edited && !sharing.open.has(subject)) violate(ViolationKind.SharedIp, subject, `${x.why}, no edit of either Service in the last ${EDIT_RECENT_MS / 1000} s`);
        const b = bound(BOUNDS.sharingMs, sharing, subject, readAt);
        const s = observeWindow(sharing, subject, readAt, x.why, b);
        sharing = s.state;
        if (s.exceeded) violate(ViolationKind.SharedIp, subject, `${x.why} for over ${b / 1000} s`, s.exceeded.startMs);
      }
      for (const subject of [...sharing.open.keys()]) if (!conflictKeys.has(subject)) sharing = observeWindow(sharing, subject, readAt, undefined, BOUNDS.sharingMs).state;

      // 2. Assignment changes need a cause.
      const present = new Set<string>();
      for (const s of services) {
        present.add(s.key);
        const prev = last.get(s.key);
        if (prev && prev.ips.length > 0 && !sameIps(prev.ips, s.ips)) {
          const cause = changeCause(w.causes, s.key, prev, s.pool, readAt, CAUSE_SLACK_MS);
          event({ assignmentChange: s.key, from: prev.ips, to: s.ips, cause: cause?.what ?? null });
          if (cause) changes.caused++;
          else {
            changes.uncaused++;
            violate(ViolationKind.UncausedChange, s.key, `${prev.ips.join(',')} -> ${s.ips.join(',') || 'none'} without an edit of the Service or its pool`);
          }
        }
        if (!prev || !sameIps(prev.ips, s.ips) || prev.pool !== s.pool) last.set(s.key, { ips: s.ips, pool: s.pool, sinceMs: readAt });
      }
      for (const k of [...last.keys()]) if (!present.has(k)) last.delete(k);

      // 3. L2: every Service IP answered by exactly one node MAC.
      const ips = [...new Set(services.flatMap((s) => s.ips))];
      const macs = await probeL2(c, ips);
      const probedAt = now();
      for (const ip of ips) {
        const set = macs.get(ip) ?? new Set<string>();
        const foreign = [...set].filter((m) => !nodeByMac.has(m));
        const bad = set.size !== 1 ? `${set.size} MACs${set.size > 1 ? ` (${[...set].map((m) => nodeByMac.get(m) ?? m).join(',')})` : ''}` : foreign.length ? `foreign MAC ${foreign[0]}` : undefined;
        const b = bound(BOUNDS.l2Ms, l2, ip, probedAt);
        const s = observeWindow(l2, ip, probedAt, bad, b);
        if (s.state.open.size !== l2.open.size) event({ l2: ip, state: bad ?? 'ok' });
        l2 = s.state;
        if (s.exceeded) violate(ViolationKind.L2Window, ip, `${s.exceeded.reason} for over ${b / 1000} s`, s.exceeded.startMs);
      }
      for (const ip of [...l2.open.keys()]) if (!ips.includes(ip)) l2 = dropWindow(l2, ip, probedAt);

      // 4. BGP: every eligible node advertises every IP, and nothing else is advertised.
      try {
        const table = await probeBgp(frr, nodeByPeer);
        const bgpAt = now();
        const eligible = sup.liveSpeakerNodes().filter((n) => !ctx.linkDown.has(n));
        const subjects = new Set([...ips, ...table.keys()]);
        for (const ip of subjects) {
          const have = table.get(ip) ?? new Set<string>();
          const want = ips.includes(ip) ? eligible : [];
          const missing = want.filter((n) => !have.has(n));
          const extra = [...have].filter((n) => !want.includes(n));
          const bad = missing.length || extra.length ? [missing.length ? `missing ${missing.join(',')}` : '', extra.length ? `extra ${extra.join(',')}` : ''].filter(Boolean).join(' ') : undefined;
          const b = bound(BOUNDS.bgpMs, bgp, ip, bgpAt);
          const s = observeWindow(bgp, ip, bgpAt, bad, b);
          if (s.state.open.size !== bgp.open.size) event({ bgp: ip, state: bad ?? 'ok' });
          bgp = s.state;
          if (s.exceeded) violate(ViolationKind.BgpWindow, ip, `${s.exceeded.reason} for over ${b / 1000} s`, s.exceeded.startMs);
        }
        for (const ip of [...bgp.open.keys()]) if (!subjects.has(ip)) bgp = dropWindow(bgp, ip, bgpAt);
      } catch (err) {
        event({ bgpProbeError: String(err).slice(0, 200) });
      }

      // 5. RSS every 10 s.
      if (now() - lastRss >= 10_000) {
        lastRss = now();
        for (const [role, p] of sup.procs) {
          const mb = rssMB(p.pid);
          if (mb !== undefined) rss.push({ atMs: lastRss, role: role.replace(/^controller-c\d$/, 'controller'), rssMB: mb });
        }
      }
      await delay(Math.max(0, 2000 - (now() - t0)));
      return l2.open.size === 0 && bgp.open.size === 0 && sharing.open.size === 0;
    };

    while (now() < deadline) await checkOnce();
    stopLoad = true;
    await Promise.all([workload, faults]);
    // Settle: no faults, no edits; every open window must close.
    const settleStart = now();
    let settled = false;
    while (now() - settleStart < BOUNDS.settleMs) {
      if (await checkOnce()) {
        settled = true;
        break;
      }
    }
    const endMs = now();
    if (!settled) {
      for (const [name, st] of [['l2', l2], ['bgp', bgp], ['sharing', sharing]] as const) {
        for (const [subject, win] of st.open) violate(name === 'l2' ? ViolationKind.L2Window : name === 'bgp' ? ViolationKind.BgpWindow : ViolationKind.SharedIp, subject, `${win.reason} still open ${BOUNDS.settleMs / 1000} s after the last fault`, win.startMs);
      }
    }

    // Crash lines in any product log (speakers, controllers, bridges).
    for (const f of readdirSync(c.lab.dir).filter((f) => /^(speaker|controller)-.*\.log$/.test(f))) {
      const lines = crashLines(readFileSync(join(c.lab.dir, f), 'utf8'));
      for (const l of lines.slice(0, 3)) violate(ViolationKind.LogError, f, l.slice(0, 300));
    }
    const growth = rssGrowth(rss, runStart, endMs);
    // Under ten minutes, V8's warm-up dominates: growth is reported but only judged on long runs.
    if (opts.minutes >= 10) for (const g of growth) if (growthSuspect(g)) violate(ViolationKind.MemoryGrowth, g.role, `RSS ${g.firstThirdMB} MB -> ${g.lastThirdMB} MB`);

    const faultCounts: Record<string, number> = {};
    for (const f of faultLog) faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;
    event({ windows: { l2: allWindows(l2, endMs), bgp: allWindows(bgp, endMs), sharing: allWindows(sharing, endMs) } });
    return {
      minutes: opts.minutes,
      seed: opts.seed,
      startedAt: new Date(startedAt).toISOString(),
      endedAt: new Date(endMs).toISOString(),
      checks,
      ops: w.ops,
      opErrors,
      faults: faultCounts,
      violationCount: violations.length,
      violations: violations.map((v) => ({ ...v, at: new Date(v.atMs).toISOString() })),
      l2Windows: windowStats(allWindows(l2, endMs)),
      bgpWindows: windowStats(allWindows(bgp, endMs)),
      sharingWindows: windowStats(allWindows(sharing, endMs)),
      assignmentChanges: changes,
      lostLeadershipRestarts: sup.unexpected.filter((x) => x.lostLeadership).length,
      rss: growth,
      settledMs: settled ? endMs - settleStart : -1,
      eventsFile,
    };
  } finally {
    for (const fn of [...own, ...teardowns]) {
      try {
        // A stuck teardown step must not swallow the summary: give each 60 s.
        await Promise.race([fn(), delay(60_000)]);
      } catch {
        // keep tearing down
      }
    }
  }
}
