/**
 * What the socket attacks of issue 9 cost an honest volunteer (e2e/support/flood-run.ts): its
 * throughput during each attack as a share of its throughput around it, the median of several
 * rounds. Every attack is paired with a control: the same attacker process sending the same
 * packets to a sink of its own that never reads or answers, and giving up as long after its first
 * packet as the attack lasted. On this shared 2-core machine the attacker's process (10,000 packets encoded and
 * written, or 4 MiB outputs masked and copied 400 times) takes CPU, memory bandwidth and kernel
 * time from the cores the coordinator and the honest volunteer run on, which an attacker on its
 * own machine would not. The control's share is that part; the attack's share over its control's
 * in the same round is what the coordinator's handling of the attack costs. The figure is the
 * least of the three attacks' medians of those ratios.
 */
import { ATTACKS, attack, startFloodGrid, type FloodGrid } from '../e2e/support/flood-run.ts';
import { median, round } from './common.ts';
import type { Figure } from './report.ts';

/** The result flood's connecting phase (its 400 sockets' handshakes), against the control's. */
interface Connecting {
  attack: number[];
  control: number[];
  attackMs: number[];
}

/** Shares of attack rounds and of their controls, each round's ratio, and how long each attack lasted. */
interface Paired {
  attack: number[];
  control: number[];
  ratio: number[];
  attackMs: number[];
}

/**
 * Runs `spec` and its control `rounds` times, the control giving up as long after its first
 * packet as the latest attack lasted; which of the two goes first alternates, so that a drift of
 * the machine's speed falls on both alike.
 */
async function paired(grid: FloodGrid, spec: Record<string, unknown>, rounds: number, connecting?: Connecting): Promise<Paired> {
  const series: Paired = { attack: [], control: [], ratio: [], attackMs: [] };
  let lastAttackMs: number | undefined;
  const runAttack = async () => {
    const run = await attack(grid, spec);
    // A flood whose socket was closed before its turn was not sent: the attack was weaker than its control.
    if (Number(run.report['skipped'] ?? 0) > 0) throw new Error(`an attack's socket closed before its turn: ${JSON.stringify(run.report)}`);
    lastAttackMs = run.duringMs;
    series.attackMs.push(run.duringMs);
    if (connecting) {
      if (Number.isFinite(run.connecting)) connecting.attack.push(run.connecting / run.before);
      connecting.attackMs.push(run.connectingMs);
    }
    return run.during / run.before;
  };
  const runControl = async () => {
    const run = await attack(grid, { ...spec, sink: true, giveUpMs: Math.max(200, Math.round(lastAttackMs!)) });
    if (connecting && Number.isFinite(run.connecting)) connecting.control.push(run.connecting / run.before);
    return run.during / run.before;
  };
  for (let i = 0; i < rounds; i++) {
    // The first round must measure an attack before its control can last as long.
    const attackFirst = i % 2 === 0;
    const attackShare = attackFirst ? await runAttack() : undefined;
    const controlShare = await runControl();
    const share = attackShare ?? (await runAttack());
    series.attack.push(share);
    series.control.push(controlShare);
    series.ratio.push(share / controlShare);
  }
  return series;
}

/**
 * The short floods (one socket's 10,000 events, cut off in well under a second) six times back to
 * back from six addresses: one flood is over too soon for a single volunteer's rate to be measured
 * steadily (single rounds swung from 0.6 to 1.5); six in a row last several times as long and are harsher.
 */
const SUSTAINED = 6;
const sustained = (spec: Record<string, unknown>, firstAddress: number): Record<string, unknown> => ({
  ...spec,
  repeat: SUSTAINED,
  addresses: Array.from({ length: SUSTAINED }, (_, i) => `127.0.0.${firstAddress + i}`),
});

export async function floodShares(rounds: { short: number; results: number }): Promise<Figure> {
  const grid = await startFloodGrid({ jobs: 7 });
  const connecting: Connecting = { attack: [], control: [], attackMs: [] };
  try {
    const leases = await paired(grid, sustained(ATTACKS.leases, 20), rounds.short);
    const silent = await paired(grid, sustained(ATTACKS.silent, 30), rounds.short);
    const results = await paired(grid, ATTACKS.results, rounds.results, connecting);
    let pending = 0;
    for (const jobId of grid.jobIds) {
      const status = await grid.api.jobStatus(jobId);
      if (status.counts.failed > 0) throw new Error(`the attacks failed ${status.counts.failed} honest tasks`);
      pending += status.counts.pending;
    }
    // Work running out during the last rounds would lower their baselines unseen.
    if (pending === 0) throw new Error('the honest volunteer ran out of work: give the grid more jobs');
    // Each series as its median and its range over the rounds (nothing for a series left empty).
    const series = (name: string, values: number[]): Record<string, number> =>
      values.length === 0
        ? {}
        : { [name]: round(median(values), 3), [`${name}Min`]: round(Math.min(...values), 3), [`${name}Max`]: round(Math.max(...values), 3) };
    const each = (name: string, pair: Paired): Record<string, number> => ({
      ...series(name, pair.attack),
      ...series(`${name}Control`, pair.control),
      ...series(`${name}OverControl`, pair.ratio),
      [`${name}Ms`]: round(median(pair.attackMs), 0),
    });
    return {
      name: 'flood-honest-share',
      unit: 'share of the honest throughput (median, over its control)',
      value: round(Math.min(median(leases.ratio), median(silent.ratio), median(results.ratio)), 3),
      detail: {
        goal: 0.9,
        floodsPerShortAttack: SUSTAINED,
        shortRounds: rounds.short,
        resultRounds: rounds.results,
        ...each('leaseFlood', leases),
        ...each('silentFlood', silent),
        ...each('resultFlood', results),
        // Outside the figure: the result flood's 400 sockets connecting, before its first packet.
        ...series('resultFloodConnecting', connecting.attack),
        ...series('resultFloodConnectingControl', connecting.control),
        ...(connecting.attackMs.length > 0 ? { resultFloodConnectingMs: round(median(connecting.attackMs), 0) } : {}),
      },
    };
  } finally {
    await grid.close();
  }
}
