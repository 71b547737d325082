/** Renders the benchmark figures as docs/benchmarks.md. */
import type { Machine } from './machine.ts';

export interface Figure {
  name: string;
  unit: string;
  value: number;
  detail: Record<string, number | null>;
}

const row = (figure: Figure): string =>
  `| ${figure.name} | ${figure.value} ${figure.unit} | ${Object.entries(figure.detail)
    .map(([key, value]) => `${key}: ${value ?? 'n/a'}`)
    .join(', ')} |`;

function explain(figures: Figure[]): string[] {
  const lines: string[] = [];
  const grid = figures.find((figure) => figure.name === 'grid-vs-native');
  if (grid) {
    const d = grid.detail;
    lines.push(
      `- **Grid versus native.** At the visitor's full share (chosen in the control, as a visitor would) and ${d['workers']} workers ` +
        `the grid took ${grid.value}× the native time: the median of ${d['rounds']} rounds, each a native run and a grid run back ` +
        `to back (${d['minRatio']}–${d['maxRatio']}; this machine is shared, so single rounds swing). In the median round: ` +
        `${d['gridWallMs']} ms against ${d['nativeWallMs']} ms for ${d['tasks']} tasks of ~${d['taskMsNative']} ms, ` +
        `${d['startLatencyMs']} ms of it before the first lease (the job's creation, the \`work\` wake-up, the lease request), ` +
        `${d['steadyStateRatio']}× native after that, ${d['overheadPerTaskMs']} ms per task per worker; timed to the ` +
        'coordinator\'s last accepted result, from its own lease records. CPU is steadier than wall time here: ' +
        `${d['gridCpuMsPerTask']} ms per task for the coordinator and every browser process together against ` +
        `${d['nativeCpuMsPerTask']} ms for the native threads (the workers reported ${d['workerMsPerTask']} ms of wall time ` +
        'per task, instantiation included). Per task the grid adds a fresh wasm instance (under a millisecond), a ' +
        'message to the worker and back, an IndexedDB write of the result before it is sent, one SQLite transaction ' +
        'for the claim and one for the result; a queued lease per worker hides the lease round trip, and the frame ' +
        'redraws its control at most twice a second. ' +
        `At the default share of ${d['defaultShare']} every worker rests after each task as long as the task took: the ` +
        `same job then took ${d['defaultShareRatio']}× native (${d['defaultShareWallMs']} ms), the rests included by design.`,
    );
  }
  const throughput = figures.find((figure) => figure.name === 'results-per-second');
  if (throughput) {
    const d = throughput.detail;
    lines.push(
      `- **Coordinator throughput.** ${throughput.value} accepted results/s on one coordinator (SQLite, tiny tasks, r = 1) ` +
        `with ${d['volunteers']} raw Socket.IO volunteers in ${d['processes']} processes (no wasm: each lease answered at ` +
        `once; ${d['slots']} leases per request, results ${d['batched'] ? 'batched per grant in `results` events' : 'one per `result` event'}), ` +
        `measured over ${d['windowMs']} ms after a warm-up. The same clients against a bare Socket.IO server that only ` +
        `acknowledges reached ${d['bareResultsPerSecond']}/s in the same run: a ratio of ${d['ratioToBare']} (goal ` +
        `${d['goalRatio']}, and ${d['goalResultsPerSecond']}/s). The coordinator spent ${d['coordinatorCpuMsPerResult']} ms of ` +
        `CPU per result (${d['coordinatorCpuShare']} of a core; the bare server ${d['bareCpuMsPerResult']} ms); lease round ` +
        `trips under that load p50 ${d['leaseRttP50Ms']} ms, p99 ${d['leaseRttP99Ms']} ms (bare: ${d['bareLeaseRttP50Ms']} / ` +
        `${d['bareLeaseRttP99Ms']} ms). Claims and results that queue while a transaction runs share the next one (group ` +
        'commit), each acknowledged after it committed.' +
        (typeof d['budgetAllThreadsMsPerResult'] === 'number'
          ? ` The clients run on the same ${d['cores']} cores and took ${d['clientCpuMsPerResult']} ms of CPU per result ` +
            `(${d['bareClientCpuMsPerResult']} ms against the bare server), so at ${d['goalRatio']} of the bare server's rate ` +
            `the coordinator may spend ${d['budgetAllThreadsMsPerResult']} ms per result over all its threads, and at most ` +
            `${d['budgetOneThreadMsPerResult']} ms on any one thread.`
          : '') +
        (typeof d['floorResultsPerSecond'] === 'number'
          ? ` (The clients' CPU per result is ${d['floorClientCpuMsPerResult']} ms against the floor server below: what they ` +
            'spend by the second is shared by fewer results when the server is slower, so this budget is on the low side.)' +
            ` A floor server, the same clients against a server that reads the real job's open tasks a thousand at a time, ` +
            'grants them from memory and only writes each result durably (its task row and its place in the completion order, ' +
            'acknowledged after the commit; no validation, lease rows, quorum, reputation or fairness), reached ' +
            `${d['floorResultsPerSecond']}/s in the same run at ${d['floorCpuMsPerResult']} ms of CPU per result: a ratio of ` +
            `${d['floorRatioToBare']} to the bare server` +
            (Number(d['floorRatioToBare']) >= Number(d['goalRatio'])
              ? ": the transport and a durable write per result leave room for the goal, and the coordinator's own work per result is the gap."
              : ` (below the goal in this run: the bare server and the floor run seconds apart, and this VM's speed drifts; their CPU per result is the steadier reading).`) +
            (typeof d['floorClaimsResultsPerSecond'] === 'number'
              ? ` Climbing towards the coordinator's schema: marking each granted task leased in the transaction that grants it ` +
                `(the grant acknowledged after its commit) gave ${d['floorClaimsResultsPerSecond']}/s at ` +
                `${d['floorClaimsCpuMsPerResult']} ms (ratio ${d['floorClaimsRatioToBare']}); with a lease row inserted per grant ` +
                `and ended at its result as well, ${d['floorLeasesResultsPerSecond']}/s at ${d['floorLeasesCpuMsPerResult']} ms ` +
                `(ratio ${d['floorLeasesRatioToBare']}).`
              : '')
          : ''),
    );
  }
  const floor = figures.find((figure) => figure.name === 'sqlite-write-floor');
  if (floor) {
    const d = floor.detail;
    let budget = '';
    const t = throughput?.detail;
    if (t && typeof t['bareCpuMsPerResult'] === 'number' && typeof t['bareResultsPerSecond'] === 'number' && typeof t['goalRatio'] === 'number') {
      // What a coordinator on one thread may spend per result at the goal's share of the bare
      // server: the throughput figure's budget, or without the clients' CPU one core's share.
      const oneThreadMs = 1000 / (t['goalRatio'] * t['bareResultsPerSecond']);
      const budgetUs = (typeof t['budgetAllThreadsMsPerResult'] === 'number' ? Math.min(t['budgetAllThreadsMsPerResult'], oneThreadMs) : oneThreadMs) * 1000;
      const socketUs = t['bareCpuMsPerResult'] * 1000;
      budget =
        ` At ${t['goalRatio']} of this run's bare server a coordinator on one thread may spend ${budgetUs.toFixed(0)} µs per result in all (the throughput figure's budget); ` +
        `Socket.IO's share, as the bare server spent it, is ${socketUs.toFixed(0)} µs, which leaves ` +
        `${(budgetUs - socketUs - floor.value).toFixed(0)} µs for everything else with lease rows, and ` +
        `${(budgetUs - socketUs - Number(d['withoutLeaseRowsUs'])).toFixed(0)} µs without them.`;
    }
    lines.push(
      `- **SQLite's floor.** The rows and indexes the store writes for a task claimed and answered at r = 1, written ` +
        `by raw statements with none of the coordinator's logic (claims of ${d['claim']}, a commit per ` +
        `${d['resultsPerCommit']} results): ${floor.value} µs of CPU per result; without the lease rows (live leases ` +
        `held in memory instead) ${d['withoutLeaseRowsUs']} µs.${budget}`,
    );
  }
  const postgres = figures.find((figure) => figure.name === 'postgres-results-per-second');
  if (postgres) {
    const d = postgres.detail;
    const per = (n: number): string =>
      d[`nodes${n}ResultsPerSecond`] === undefined
        ? ''
        : `${n} node${n > 1 ? 's' : ''} ${d[`nodes${n}ResultsPerSecond`]}/s (${d[`nodes${n}CpuMsPerResult`]} ms of node CPU per result, lease p99 ${d[`nodes${n}LeaseRttP99Ms`]} ms, ratio ${d[`nodes${n}RatioToBare`]})`;
    lines.push(
      `- **On PostgreSQL.** The same clients spread over coordinator nodes sharing one throwaway PostgreSQL on this machine ` +
        `(fsync on): ${[1, 2, 3].map(per).filter(Boolean).join('; ')}; the bare server ${d['bareResultsPerSecond']}/s in the same run. ` +
        'Every statement is a round trip to the database, and about 12 statements answer a result (no group commit on ' +
        'PostgreSQL: its transactions run side by side); nodes, database and clients share the same 2 cores, so more nodes here ' +
        'add contention, not CPU.',
    );
  }
  const agents = figures.find((figure) => figure.name === 'agent-results-per-second');
  if (agents) {
    lines.push(
      `- **Whole Node agents.** ${agents.value} accepted results/s with ${agents.detail['volunteers']} ` +
        `Node agents (the full volunteer loop, inline execution of the real module) on tiny tasks; the coordinator spent ` +
        `${agents.detail['coordinatorCpuMsPerResult']} ms of CPU per result (${agents.detail['coordinatorCpuShare']} of a core ` +
        'while the job ran). The rest of the machine was the 50 agents\' event loop in the benchmark process, wasm included.',
    );
  }
  const failover = figures.find((figure) => figure.name === 'failover-latency');
  if (failover) {
    lines.push(
      `- **Failover.** When a volunteer's connection closes mid-task (a closed tab, a killed process), its task was in another volunteer's hands ` +
        `${failover.value} ms later (median of ${failover.detail['trials']}; ${failover.detail['minMs']}–` +
        `${failover.detail['maxMs']} ms; goal under ${failover.detail['goalMs']} ms). The coordinator releases the lease ` +
        'when the socket closes, sends `work` to idle volunteers, and the first to ask gets the task; no deadline is ' +
        'waited for. A network that goes silent without closing the socket is noticed by the heartbeat within 30 s. ' +
        '(BOINC notices a lost host only at its deadline, hours later.) When the first volunteer reconnects, the ' +
        "coordinator's `adopted` notice tells it that its new connection holds none of its old leases, and it stopped " +
        `the released task ${failover.detail['releasedTaskStoppedMs']} ms after reconnecting (median), instead of ` +
        'finishing it for nobody.',
    );
  }
  const replication = figures.find((figure) => figure.name === 'replication-throughput');
  if (replication) {
    lines.push(
      `- **Replication throughput.** The same CPU-bound job of ${replication.detail['tasks']} tasks on ` +
        `${replication.detail['volunteers']} fresh volunteers, timed from its first lease to its last answer: ` +
        `${replication.detail['tasksPerSecondR1']} tasks/s at r = 1; ${replication.detail['tasksPerSecondR2']} tasks/s at ` +
        `r = q = 2 with adaptive replication off (${replication.value}× the rate, ${replication.detail['replicasPerTaskR2']} ` +
        'replicas per task: redundancy costs its CPU and nothing more); ' +
        `${replication.detail['tasksPerSecondR2Adaptive']} tasks/s with it on (${replication.detail['adaptiveRatio']}×, ` +
        `${replication.detail['replicasPerTaskR2Adaptive']} replicas per task), since after 10 agreeing results a fresh ` +
        'volunteer is trusted with single replicas within the same job.',
    );
  }
  const adaptive = figures.find((figure) => figure.name === 'adaptive-replication-overhead');
  if (adaptive) {
    lines.push(
      `- **Adaptive replication at steady state.** ${adaptive.detail['volunteers']} honest volunteers earned trust on a ` +
        `warm-up job of ${adaptive.detail['warmupTasks']} tasks (r = q = 2); on the next ${adaptive.detail['tasks']} tasks ` +
        `they computed ${adaptive.detail['replicasComputed']} replicas: ${adaptive.value}% extra replicas ` +
        `(${adaptive.detail['extraCpuPercent']}% extra CPU; goal under ${adaptive.detail['goalPercent']}%), ` +
        `${adaptive.detail['singleReplicaTasks']} tasks accepted on a single trusted replica, median trust run ` +
        `${adaptive.detail['medianTrustRun']}, ${adaptive.detail['wrongAccepted']} wrong results (every output checked ` +
        'against the reference sieve). The overhead is the spot checks: about 1/run per task.',
    );
  }
  const liars = figures.find((figure) => figure.name === 'adaptive-replication-with-liars');
  if (liars) {
    lines.push(
      `- **With a liar.** The same, with ${liars.detail['liars']} always-lying volunteer joining the ` +
        `${liars.detail['volunteers']} honest ones for the measured job: ${liars.detail['wrongAccepted']} wrong results ` +
        `accepted, at ${liars.value}% extra replicas (${liars.detail['extraCpuPercent']}% extra CPU). The liar's ` +
        `${liars.detail['liarReplicas']} results were all outvoted, each costing a tie-breaking replica; each lie is a ` +
        'strike, and the cool-down after it (1 s, doubling per strike) keeps a persistent liar from taking more than a ' +
        `few leases; its quota ended at ${liars.detail['liarQuota']}.`,
    );
  }
  const accept = figures.find((figure) => figure.name === 'accept-1m-inputs');
  if (accept) {
    const d = accept.detail;
    lines.push(
      `- **Accepting a million inputs.** A job of ${d['inputs']} primes inputs streamed as NDJSON over HTTP (one ` +
        '`{"base64": …}` line each) was accepted at ' +
        `${accept.value} inputs/s (${d['wallMs']} ms from the first byte sent to the 201, which counts the job's tasks); ` +
        `${d['smallInputs']} inputs went at ${d['smallInputsPerSecond']} inputs/s. The coordinator's peak RSS (VmHWM) was ` +
        `${d['peakRssMiB']} MiB after the big job against ${d['smallPeakRssMiB']} MiB after the small one, each on a fresh ` +
        `coordinator (${d['peakRssGrowthMiB']} MiB more for ten times the inputs; ${d['rssBeforeMiB']} MiB before the ` +
        'upload, mostly the TypeScript loader): the body is read a line at a time and inserted 1000 inputs per ' +
        'transaction, so memory holds one batch whatever the job\'s size.',
    );
  }
  lines.push(...explainIdleConnections(figures));
  const crowdFigure = figures.find((figure) => figure.name === 'crowd-at-once');
  if (crowdFigure) {
    const d = crowdFigure.detail;
    lines.push(
      `- **A crowd at once.** ${d['volunteers']} volunteers reconnecting together to one node on SQLite (after a ` +
        `restart, or from a dead node): their ${d['volunteers']} site lookups took ${d['siteLookupsMs']} ms ` +
        `(${d['siteLookupsCpuMs']} ms CPU), then their connections (each asking the store to adopt what its volunteer ` +
        `left) ${d['connectsMs']} ms, and all of them dropping ${d['disconnectsMs']} ms. At \`cfedec4\` the same bench ` +
        '(2-core EPYC VM, 2026-12-03) took 56,322 ms for the lookups (the SQLite driver\'s lock woke every waiter on each ' +
        'release) and 8,063 ms for the drops (each disconnect scanned every volunteer). A crowd still waits in line: ' +
        'the time grows with its size, no longer with its square.',
    );
  }
  const flood = figures.find((figure) => figure.name === 'flood-honest-share');
  if (flood) {
    const d = flood.detail;
    const pair = (name: string) =>
      `${d[name]} (${d[`${name}Min`]}–${d[`${name}Max`]}), its control ${d[`${name}Control`]} (${d[`${name}ControlMin`]}–` +
      `${d[`${name}ControlMax`]}), the attack over its control **${d[`${name}OverControl`]}** (${d[`${name}OverControlMin`]}–` +
      `${d[`${name}OverControlMax`]})`;
    lines.push(
      '- **Floods.** An honest volunteer (tiny tasks, answered at once) works beside each socket attack of issue 9, the ' +
        'coordinator on its production socket limits; its throughput during the attack over its throughput just before ' +
        'and after (the after window starts a second after the attacker exits, so the clean-up of the attack does not ' +
        `lower it), medians of ${d['shortRounds']} or ${d['resultRounds']} rounds with their ranges. The attacker runs on ` +
        'the same 2 cores at the lowest priority, and that is not free: each round pairs the attack with a control, the ' +
        'same attacker process sending the same packets to a sink of its own that never reads or answers and giving up as ' +
        'long after its first packet as the attack lasted (its exit may take longer; which goes first alternates). ' +
        "The control's share is what the " +
        "attacker's process takes from the shared machine; the attack's share over its control's in the same round is " +
        `what the coordinator's handling costs (goal ${d['goal']}; the figure is the least of the three medians). ` +
        `One socket sending 10,000 \`lease\` events, ${d['floodsPerShortAttack']} such floods back to back from as many ` +
        `addresses (over in ${d['leaseFloodMs']} ms): ${pair('leaseFlood')}; ` +
        `10,000 events without an acknowledgement, ${d['floodsPerShortAttack']} floods back to back (${d['silentFloodMs']} ms): ` +
        `${pair('silentFlood')}; 400 sockets each sending a 4 MiB result for a made-up lease (${d['resultFloodMs']} ms): ` +
        `${pair('resultFlood')}. A single flood of 10,000 events is cut off in a few hundred milliseconds, too short for one ` +
        "volunteer's rate to be measured steadily (single rounds swung from 0.6 to 1.5); several back to back last several " +
        'times as long and are harsher. A probe of `/api/v1/health` every 25 ms runs before, during ' +
        'and after each attack alike (it costs the honest volunteer about 8% by itself). No honest task failed.' +
        (typeof d['resultFloodConnecting'] === 'number'
          ? ` Not in these shares: the ${d['resultFloodConnectingMs']} ms (median) in which the result flood's 400 sockets ` +
            `connect, before their first packet. Meanwhile the honest volunteer kept ${d['resultFloodConnecting']} ` +
            `(${d['resultFloodConnectingMin']}–${d['resultFloodConnectingMax']}) of its throughput, against ` +
            `${d['resultFloodConnectingControl']} when the same sockets connect to the sink: each connection is a WebSocket ` +
            'handshake and an admission, work of the transport that a per-address connection cap bounds but cannot make free.'
          : ''),
    );
  }
  return lines;
}

/**
 * The idle-connection figures of bench/connections.ts. The tuning is code, not a switch, so its
 * "before" was measured once with the same bench on the commit before it (one coordinator).
 */
export const IDLE_TUNING_COMPARISON = {
  untunedCommit: 'e6d6083',
  volunteers: 8_000,
  heapKiB: { before: 12.12, after: 12.15 },
  collectedRssKiB: { before: 12.53, after: 15.7 },
  rawRssKiB: { before: 13.44, after: 15.66 },
};

function explainIdleConnections(figures: Figure[]): string[] {
  const held = figures.find((figure) => figure.name === 'idle-connections');
  const memory = figures.find((figure) => figure.name === 'memory-per-connection');
  const rtt = figures.find((figure) => figure.name === 'lease-rtt-idle-crowd');
  if (!held || !memory || !rtt) return [];
  const d = held.detail;
  const each = Object.entries(d)
    .filter(([key]) => /^coordinator\d+RssMiB$/.test(key))
    .map(([, value]) => `${value} MiB`)
    .join(', ');
  const t = IDLE_TUNING_COMPARISON;
  return [
    `- **Idle volunteers.** ${held.value} of ${d['planned']} raw Socket.IO volunteers (real handshake \`auth\`, WebSocket, ` +
      `a registered site) stayed connected over ${d['coordinators']} coordinator processes (SQLite, each its own data dir) ` +
      `from ${d['clientProcesses']} client processes and ${d['sourceAddresses']} loopback source addresses ` +
      `(at most ${d['perAddress']} per address and coordinator: one address has ~28,000 ephemeral ports, a process 20,000 ` +
      `open files); ${d['failed']} refused, ${d['dropped']} dropped while idle for ${d['heldMs']} ms with the production ` +
      `heartbeat (a ping every ${d['pingIntervalMs']} ms); connecting them took ${d['connectSeconds']} s. The coordinators' ` +
      `RSS: ${d['coordinatorsRssMiB']} MiB in all (goal under ${d['goalMiB']} MiB; ${each}), of which ${d['baselineRssMiB']} MiB ` +
      `before any volunteer connected (mostly Node and the TypeScript loader, ~160 MiB a process); ` +
      `${memory.value} KiB per connection (${memory.detail['rssDeltaMiB']} MiB RSS delta over ${memory.detail['connections']} ` +
      'connections, garbage not yet collected included); after a full collection in every coordinator ' +
      `${memory.detail['collectedRssKiB']} KiB of RSS and ${memory.detail['heapKiB']} KiB of V8 heap per connection ` +
      `(${memory.detail['externalKiB']} KiB outside it). The tuning (WebSocket only, per-message deflate and HTTP ` +
      'compression off explicitly, the handshake request released once admitted) was compared on one coordinator with ' +
      `${t.volunteers} volunteers, the same bench on commit ${t.untunedCommit} against the tuned code, back to back: heap ` +
      `per connection after a full collection ${t.heapKiB.before} KiB before, ${t.heapKiB.after} KiB after; RSS after it ` +
      `${t.collectedRssKiB.before} → ${t.collectedRssKiB.after} KiB, raw RSS ${t.rawRssKiB.before} → ${t.rawRssKiB.after} KiB ` +
      '(RSS moves with when V8 grows its heap, so only the heap figure compares). Releasing the request saves nothing ' +
      'measurable with WebSocket-only clients (the handshake keeps the headers object itself); per-message deflate was ' +
      'already off in engine.io 6 (the client offers it, the server declines), so nothing changes there either; the ' +
      'settings now say so explicitly, and refusing long-polling removes a pending HTTP request per polling client. ' +
      `Meanwhile one probe volunteer per coordinator asked for a lease of a small job ${rtt.detail['leases']} times in all ` +
      `(after ${rtt.detail['warmupLeasesPerProbe'] ?? 0} untimed ones each: a fresh coordinator compiles its statements on its first claims), ` +
      `reporting each task done before the next: lease round trip p50 ${rtt.detail['p50Ms']} ms, p99 ${rtt.value} ms, max ` +
      `${rtt.detail['maxMs']} ms (goal p99 under ${rtt.detail['goalMs']} ms). The client processes held ${d['clientsRssMiB']} MiB.`,
  ];
}

export function renderReport(machine: Machine, figures: Figure[], when: Date): string {
  return [
    '# Benchmarks',
    '',
    'Written by `npm run bench`; each run overwrites it. Ratios compare figures measured in the same run.',
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}; ` +
      `${machine.chromium}. Run on ${when.toISOString().slice(0, 10)}.`,
    '',
    '| figure | value | detail |',
    '| --- | --- | --- |',
    ...figures.map(row),
    '',
    '## Where the time goes',
    '',
    ...explain(figures),
    '',
  ].join('\n');
}
