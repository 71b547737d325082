/**
 * Chaos: a poisonous task, one whose every volunteer vanishes while running it (a module that
 * crashes the tab or the agent). Each Node agent (a child process) that takes the task is
 * SIGKILLed while it runs it, as the engine's heap limit would kill it: no goodbye, the kernel
 * closes its socket. The first vanishing costs nothing (a visitor closing a tab looks the same);
 * from the second distinct volunteer in a row each counts as a failed attempt of kind `crash`,
 * so with maxAttempts 2 the task ends failed after three victims, every reason kept, and the
 * job's other task, which no one crashed on, completes.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { watToWasm } from '../../wasm/testing/wat.ts';
import type { TestCoordinator } from '../../server/src/http/testing.ts';
import { CRASH_STREAK } from '../../server/src/scheduler/task-evidence.ts';
import { startChaosGrid } from '../support/chaos-grid.ts';
import { startAgentProcess, type AgentProcess } from '../support/chaos-agent.ts';
import { readJobLeases } from '../support/chaos-db.ts';
import { primeInputs, primeRanges, waitForJobSettled, waitUntil, type ChaosApi } from '../support/chaos-jobs.ts';

/** A bytes-ABI module whose `run` never returns: the lease stays with the volunteer until it dies. */
const HANG = `(module
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) i32.const 16)
  (func (export "run") (param i32 i32) (result i32) (loop $forever (br $forever)) i32.const 0))`;

let coordinator: TestCoordinator;
let api: ChaosApi;
let siteKey: string;
let dbFile: string;
let primes: string;
const agents: AgentProcess[] = [];

beforeEach(async () => {
  ({ coordinator, api, siteKey, dbFile, primes } = await startChaosGrid());
});

afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.dispose();
  await coordinator.close();
});

it('a task whose volunteers keep vanishing ends failed with `crash` after 1 + maxAttempts victims', async () => {
  const hang = await api.uploadModule(await watToWasm(HANG));
  const maxAttempts = 2;
  // A deadline far beyond the test: only disconnects can end these leases.
  const jobId = await api.createJob({ module: hang, inputs: [Uint8Array.of(1)], deadlineMs: 600_000, maxAttempts });
  const victims = CRASH_STREAK - 1 + maxAttempts;

  for (let n = 0; n < victims; n++) {
    const agent = await startAgentProcess({ url: coordinator.url, siteKey, workers: 1 });
    agents.push(agent);
    const holds = () => readJobLeases(dbFile, jobId).some((l) => l.volunteerId === agent.volunteerId && l.state === 'active');
    await waitUntil(holds, 30_000, () => `victim ${n + 1} never took the task:\n${agent.output()}`);
    await agent.kill();
    await waitUntil(() => !holds(), 10_000, () => `victim ${n + 1}'s lease was not taken back`);
    const status = await api.jobStatus(jobId);
    // Until the last victim, the task waits for another volunteer.
    if (n < victims - 1) expect(status.counts, `after victim ${n + 1}`).toMatchObject({ pending: 1, failed: 0 });
  }

  const status = await waitForJobSettled(api, jobId, { timeoutMs: 10_000 });
  expect(status.counts).toMatchObject({ total: 1, failed: 1, completed: 0 });
  const [line] = await api.jobResults(jobId);
  expect(line?.state).toBe('failed');
  expect(line?.errors?.map((e) => e.kind)).toEqual(['released', 'crash', 'crash']);
  expect(line?.errors?.at(-1)?.message).toMatch(/3rd distinct volunteer in a row/);
  const leases = readJobLeases(dbFile, jobId);
  expect(new Set(leases.map((l) => l.volunteerId)).size).toBe(victims);
  expect(leases.map((l) => [l.state, l.errorKind])).toEqual([
    ['released', 'released'],
    ['failed', 'crash'],
    ['failed', 'crash'],
  ]);

  // No one else is harmed: with the poisonous task failed, a fresh volunteer finishes other work.
  const healthy = await api.createJob({ module: primes, inputs: primeInputs(primeRanges(1, 1000)) });
  const rescuer = await startAgentProcess({ url: coordinator.url, siteKey, workers: 1 });
  agents.push(rescuer);
  expect((await waitForJobSettled(api, healthy, { timeoutMs: 30_000 })).counts).toMatchObject({ completed: 1 });
});
