/**
 * The Node agent against a real coordinator (fastify + Socket.IO + SQLite in a temp dir): two
 * agents on worker_threads finish a job of the real primes module, every count equal to the
 * reference; one that leaves mid-job has its tasks finished by the other; one whose connection
 * blips stops the task the coordinator took back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareVolunteering, startTestCoordinator, type TestCoordinator } from '../../../server/src/http/testing.ts';
import { decodePrimesOutput, encodePrimesInput } from '../../../wasm/tasks/primes/codec.ts';
import { countPrimesReference } from '../../../wasm/tasks/primes/reference.ts';
import { eventually } from '../testing/scripted-coordinator.ts';
import { startNodeVolunteer, type NodeVolunteer } from './index.ts';

let coordinator: TestCoordinator;
let siteKey: string;
let moduleHash: string;
const agents: NodeVolunteer[] = [];

beforeEach(async () => {
  coordinator = await startTestCoordinator();
  await coordinator.listen();
  ({ siteKey, moduleHash } = await prepareVolunteering(coordinator, 'primes'));
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.stop()));
  await coordinator.close();
});

async function submit(ranges: { lo: number; hi: number }[]): Promise<string> {
  const inputs = ranges.map(({ lo, hi }) => Buffer.from(encodePrimesInput(lo, hi)).toString('base64'));
  const reply = await coordinator.api('POST', '/jobs', { module: moduleHash, inputs, deadlineMs: 120_000 });
  expect(reply.statusCode).toBe(201);
  return reply.json().id;
}

async function waitForJob(id: string, timeoutMs: number): Promise<{ state: string; counts: Record<string, number> }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const status = (await coordinator.api('GET', `/jobs/${id}`)).json();
    if (status.state !== 'active' || Date.now() > until) return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function expectCorrect(id: string, ranges: { lo: number; hi: number }[]): Promise<void> {
  const lines = (await coordinator.api('GET', `/jobs/${id}/results`)).body.trimEnd().split('\n').map((line) => JSON.parse(line));
  expect(lines).toHaveLength(ranges.length);
  for (const line of lines) {
    expect(line.state).toBe('completed');
    const { lo, hi } = ranges[line.index]!;
    expect(decodePrimesOutput(new Uint8Array(Buffer.from(line.output, 'base64')))).toBe(countPrimesReference(lo, hi));
  }
}

describe('Node agent on a real coordinator', () => {
  it('two agents on worker_threads finish a job, every result equal to the reference', async () => {
    const ranges = Array.from({ length: 24 }, (_, i) => ({ lo: i * 20_000, hi: (i + 1) * 20_000 }));
    const id = await submit(ranges);
    for (let i = 0; i < 2; i++) agents.push(await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1 }));
    expect((await waitForJob(id, 20_000)).state).toBe('completed');
    await expectCorrect(id, ranges);
    // The job is complete once the last result is stored; its agent counts it when the ack arrives.
    const counted = () => agents.reduce((sum, agent) => sum + agent.stats().completed, 0);
    await eventually(() => counted() >= ranges.length, 5_000, 'every acknowledgement');
    expect(counted()).toBe(ranges.length);
  });

  it('an agent that drops mid-job: the other finishes its tasks long before their deadline', async () => {
    // Tasks of tens of ms, deadline two minutes: only the release at disconnect explains finishing.
    const ranges = Array.from({ length: 12 }, (_, i) => ({ lo: 1e9 + i * 30_000, hi: 1e9 + (i + 1) * 30_000 }));
    const id = await submit(ranges);
    const leaving = await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1 });
    agents.push(leaving);
    await eventually(() => leaving.stats().running > 0, 10_000, 'a task running');
    await leaving.stop();
    agents.push(await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1 }));
    expect((await waitForJob(id, 30_000)).state).toBe('completed');
    await expectCorrect(id, ranges);
  });

  it('an agent whose connection blipped stops the task the coordinator took back, then leases it again and finishes it', async () => {
    // One task of several seconds: still running when the connection drops and comes back.
    const ranges = [{ lo: 1_000_000_000, hi: 1_004_000_000 }];
    const id = await submit(ranges);
    const blipped = await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1 });
    agents.push(blipped);
    await eventually(() => blipped.stats().running > 0, 10_000, 'the task running');
    expect(blipped.stats().running).toBe(1);
    blipped.disconnect();
    // The coordinator releases the lease when the transport drops; the agent is reconnected.
    await expect.poll(async () => (await coordinator.api('GET', `/jobs/${id}`)).json().counts, { timeout: 5_000 }).toMatchObject({ running: 0, pending: 1 });
    blipped.reconnect();
    // Told that its new connection adopted nothing, it terminates the worker at once, instead of
    // finishing a task of seconds that would be answered `stale_lease`.
    await eventually(() => blipped.stats().revoked > 0, 2_000, 'the released task stopped');
    expect(blipped.stats().revoked).toBe(1);
    // The task went back to the queue: the agent leases it again (its one worker is free) and
    // finishes it, and no answer of the old lease was sent to be refused.
    expect((await waitForJob(id, 60_000)).state).toBe('completed');
    await expectCorrect(id, ranges);
    await eventually(() => blipped.stats().completed > 0, 5_000, 'the acknowledgement');
    expect(blipped.stats()).toMatchObject({ completed: 1, revoked: 1, dropped: 0, running: 0 });
  }, 90_000);
});
