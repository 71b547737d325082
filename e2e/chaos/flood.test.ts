/**
 * Chaos: floods and bad clients on the socket (issue 9, item 6). Each attack runs in its own
 * process against a coordinator in this one, while an honest volunteer (a raw Socket.IO client
 * leasing tiny primes tasks and answering each) works the same job; its throughput during the
 * attack is compared with its throughput just before, in the same run:
 * - one socket sends `lease { slots: 128, workers: 64 }` 10,000 times (it used to stop the honest
 *   volunteer for 2 s and delay /api/v1/health as long);
 * - 400 sockets each send a 4 MiB result for a made-up lease (it used to take the coordinator
 *   from 220 MB to 1.25 GB, and it stayed near 700 MB);
 * - one socket sends 10,000 events without an acknowledgement callback (10,000 log lines).
 * Every attack: the honest volunteer keeps its throughput (see HONEST_SHARE_FLOOR), health answers promptly, the
 * job is not failed; the result flood's bytes are bounded while it lasts and returned after.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ATTACKS, attack as runAttack, MiB, socketDefaults, startFloodGrid, type AttackRun, type FloodGrid } from '../support/flood-run.ts';

/**
 * The honest volunteer's throughput during an attack, as a share of its throughput around it. The
 * issue's goal is 0.9, which `npm run bench`'s flood figure measures (medians of several rounds,
 * beside a control: the same attacker sending to a sink). Single rounds on this 2-core machine
 * (coordinator, honest volunteer and attacker on the same cores) swing by ±0.15, so this floor
 * only catches losing the defences: without them the honest rate fell to 0 for seconds.
 */
const HONEST_SHARE_FLOOR = 0.4;

/**
 * The slowest health answer while 400 sockets push 4 MiB each into this process (ws receives and
 * unmasks each whole before the guard can refuse it, and hundreds close together). On this 2-core
 * machine: 49–341 ms over 7 runs of one commit, 44–467 ms over 8 of the next (and 345 in a CI
 * run); 250 ms, the bound of the shorter floods, was exceeded 2, 3 and 1 times. One second is an
 * orchestrator's usual liveness timeout: under this flood the node must not look dead.
 */
const RESULT_FLOOD_HEALTH_MS = 1_000;

let grid: FloodGrid;
const logLines: string[] = [];

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

beforeAll(async () => {
  grid = await startFloodGrid({ logStream: { write: (line) => void logLines.push(line) } });
});

afterAll(async () => {
  await grid?.close();
});

const attack = (spec: Record<string, unknown>): Promise<AttackRun> => runAttack(grid, spec);

async function expectJobHealthy(): Promise<void> {
  // The flooders' addresses are their own: the honest volunteer's allowance is untouched.
  expect(grid.honest.rateLimited()).toBe(0);
  for (const jobId of grid.jobIds) {
    const status = await grid.api.jobStatus(jobId);
    expect(status.state).not.toBe('failed');
    expect(status.counts.failed).toBe(0);
  }
}

it('one socket sending lease { slots: 128, workers: 64 } 10,000 times: refused past its burst, then closed', async () => {
  const run = await attack(ATTACKS.leases);
  console.log('lease flood', JSON.stringify(run));
  // Closed by the coordinator (or, on a loaded machine, by the attacker's own late heartbeat).
  expect(['io server disconnect', 'ping timeout']).toContain(run.report['ended']);
  const answers = run.report['answers'] as Record<string, number>;
  // At most the burst reached the scheduler; everything else was refused or dropped unread.
  expect((answers['ok'] ?? 0) + (answers['stale_lease'] ?? 0)).toBeLessThanOrEqual(socketDefaults().socketEventBurst!);
  await expectJobHealthy();
  // Last, so that a failure here still shows the defence's own checks passed.
  expect(run.slowestHealthMs).toBeLessThan(250);
  expect(run.during / run.before).toBeGreaterThanOrEqual(HONEST_SHARE_FLOOR);
});

it('400 sockets each sending a 4 MiB result for a made-up lease: memory bounded, and returned', async () => {
  gc();
  const baseline = process.memoryUsage().arrayBuffers;
  const run = await attack(ATTACKS.results);
  console.log('result flood', JSON.stringify({ ...run, baselineMiB: baseline / MiB, peakMiB: run.peakBuffers / MiB }));
  // Nearly all connect (on a loaded machine a few handshakes time out on the attacker's side).
  expect(run.report['connected']).toBeGreaterThanOrEqual(300);
  const answers = run.report['answers'] as Record<string, number>;
  expect(answers['ok'] ?? 0).toBe(0);
  // The gate lets a quarter of the in-flight budget (64 MiB) of such outputs in at once; a
  // connection whose output comes while it is shut is closed with at most a chunk read.
  expect(run.peakBuffers - baseline).toBeLessThan(160 * MiB);
  expect(grid.coordinator.volunteers.heldResultBytes()).toBe(0);
  gc();
  expect(process.memoryUsage().arrayBuffers - baseline).toBeLessThan(32 * MiB);
  await expectJobHealthy();
  // Last, so that a failure here still shows the defence's own checks passed.
  expect(run.slowestHealthMs).toBeLessThan(RESULT_FLOOD_HEALTH_MS);
  expect(run.during / run.before).toBeGreaterThanOrEqual(HONEST_SHARE_FLOOR);
});

it('10,000 events without an acknowledgement: a handful of log lines, the connection closed', async () => {
  const linesBefore = logLines.length;
  const run = await attack(ATTACKS.silent);
  console.log('silent flood', JSON.stringify(run));
  expect(run.report['ended']).toBe('io server disconnect');
  const refusals = logLines.slice(linesBefore).filter((line) => line.includes('volunteer socket refusals'));
  expect(refusals.length).toBeLessThanOrEqual(3);
  await expectJobHealthy();
  // Last, so that a failure here still shows the defence's own checks passed.
  expect(run.slowestHealthMs).toBeLessThan(250);
  expect(run.during / run.before).toBeGreaterThanOrEqual(HONEST_SHARE_FLOOR);
});
