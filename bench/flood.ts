/**
 * What the socket attacks of issue 9 cost an honest volunteer (e2e/support/flood-run.ts): its
 * throughput during each attack as a share of its throughput around it, the median of several
 * rounds. Every attack is paired with a control: the same attacker process sending the same
 * packets to a sink of its own that never reads or answers, for about as long as the attack
 * lasted. On this shared 2-core machine the attacker's process (10,000 packets encoded and
 * written, or 4 MiB outputs masked and copied 400 times) takes CPU, memory bandwidth and kernel
 * time from the cores the coordinator and the honest volunteer run on, which an attacker on its
 * own machine would not. The control's share is that part; the attack's share over its control's
 * is what the coordinator's handling of the attack costs, and the figure is the least of the three.
 */
import { ATTACKS, attack, startFloodGrid, type FloodGrid } from '../e2e/support/flood-run.ts';
import { median, round } from './common.ts';
import type { Figure } from './report.ts';

/** Shares of attack rounds and of their controls, and how long each attack lasted. */
interface Paired {
  attack: number[];
  control: number[];
  attackMs: number[];
}

/** Runs `spec` then its control (as long as the attack lasted), `rounds` times. */
async function paired(grid: FloodGrid, spec: Record<string, unknown>, rounds: number, connecting?: { attack: number[]; control: number[]; attackMs: number[] }): Promise<Paired> {
  const series: Paired = { attack: [], control: [], attackMs: [] };
  for (let i = 0; i < rounds; i++) {
    const run = await attack(grid, spec);
    series.attack.push(run.during / run.before);
    series.attackMs.push(run.duringMs);
    const control = await attack(grid, { ...spec, sink: true, giveUpMs: Math.max(200, Math.round(run.duringMs)) });
    series.control.push(control.during / control.before);
    if (connecting) {
      if (Number.isFinite(run.connecting)) connecting.attack.push(run.connecting / run.before);
      if (Number.isFinite(control.connecting)) connecting.control.push(control.connecting / control.before);
      connecting.attackMs.push(run.connectingMs);
    }
  }
  return series;
}

export async function floodShares(rounds: { short: number; results: number }): Promise<Figure> {
  const grid = await startFloodGrid({ jobs: 3 });
  // The result flood's connecting phase (its 400 sockets' handshakes), against the control's.
  const connecting = { attack: [] as number[], control: [] as number[], attackMs: [] as number[] };
  try {
    const leases = await paired(grid, ATTACKS.leases, rounds.short);
    const silent = await paired(grid, ATTACKS.silent, rounds.short);
    const results = await paired(grid, ATTACKS.results, rounds.results, connecting);
    for (const jobId of grid.jobIds) {
      const status = await grid.api.jobStatus(jobId);
      if (status.counts.failed > 0) throw new Error(`the attacks failed ${status.counts.failed} honest tasks`);
    }
    const overControl = (pair: Paired): number => median(pair.attack) / median(pair.control);
    // Each series as its median and its range over the rounds (nothing for a series left empty).
    const series = (name: string, values: number[]): Record<string, number> =>
      values.length === 0
        ? {}
        : { [name]: round(median(values), 3), [`${name}Min`]: round(Math.min(...values), 3), [`${name}Max`]: round(Math.max(...values), 3) };
    const each = (name: string, pair: Paired): Record<string, number> => ({
      ...series(name, pair.attack),
      ...series(`${name}Control`, pair.control),
      [`${name}OverControl`]: round(overControl(pair), 3),
      [`${name}Ms`]: round(median(pair.attackMs), 0),
    });
    return {
      name: 'flood-honest-share',
      unit: 'share of the honest throughput (median, over its control)',
      value: round(Math.min(overControl(leases), overControl(silent), overControl(results)), 3),
      detail: {
        goal: 0.9,
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
