/**
 * What the socket attacks of issue 9 cost an honest volunteer (e2e/support/flood-run.ts): its
 * throughput during each attack as a share of its throughput around it, the median of several
 * rounds. The result flood is also run against a control, the same attacker sending to a sink of
 * its own that never reads: on this shared machine the attacker's process (4 MiB outputs masked
 * and copied 400 times) takes memory bandwidth and kernel time from the cores the coordinator
 * runs on, which an attacker on its own machine would not. The control's share is that part; the
 * attack's share over the control's is what the coordinator's defences cost.
 */
import { ATTACKS, attack, startFloodGrid } from '../e2e/support/flood-run.ts';
import { median, round } from './common.ts';
import type { Figure } from './report.ts';

export async function floodShares(rounds: { short: number; results: number }): Promise<Figure> {
  const grid = await startFloodGrid({ jobs: 3 });
  // The result flood's connecting phase (its 400 sockets' handshakes), against the control's.
  const connecting = { attack: [] as number[], control: [] as number[], attackMs: [] as number[] };
  const share = async (spec: Record<string, unknown>, phase?: 'attack' | 'control'): Promise<number> => {
    const run = await attack(grid, spec);
    if (phase && Number.isFinite(run.connecting)) connecting[phase].push(run.connecting / run.before);
    if (phase === 'attack') connecting.attackMs.push(run.connectingMs);
    return run.during / run.before;
  };
  try {
    const leases: number[] = [];
    const silent: number[] = [];
    for (let i = 0; i < rounds.short; i++) {
      leases.push(await share(ATTACKS.leases));
      silent.push(await share(ATTACKS.silent));
    }
    const results: number[] = [];
    const control: number[] = [];
    for (let i = 0; i < rounds.results; i++) {
      // Interleaved, so that a drift of the machine's load falls on both alike.
      control.push(await share({ ...ATTACKS.results, sink: true }, 'control'));
      results.push(await share(ATTACKS.results, 'attack'));
    }
    for (const jobId of grid.jobIds) {
      const status = await grid.api.jobStatus(jobId);
      if (status.counts.failed > 0) throw new Error(`the attacks failed ${status.counts.failed} honest tasks`);
    }
    const resultsOverControl = median(results) / median(control);
    // Each series as its median and its range over the rounds (nothing for a series left empty).
    const series = (name: string, values: number[]): Record<string, number> =>
      values.length === 0
        ? {}
        : { [name]: round(median(values), 3), [`${name}Min`]: round(Math.min(...values), 3), [`${name}Max`]: round(Math.max(...values), 3) };
    return {
      name: 'flood-honest-share',
      unit: 'share of the honest throughput (median)',
      value: round(Math.min(median(leases), median(silent), resultsOverControl), 3),
      detail: {
        goal: 0.9,
        shortRounds: rounds.short,
        resultRounds: rounds.results,
        ...series('leaseFlood', leases),
        ...series('silentFlood', silent),
        ...series('resultFlood', results),
        ...series('resultFloodControl', control),
        resultFloodOverControl: round(resultsOverControl, 3),
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
