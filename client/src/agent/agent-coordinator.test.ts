/**
 * The Node agent against a real coordinator (fastify + Socket.IO + SQLite in a temp dir): two
 * agents on worker_threads finish a job of the real primes module, every count equal to the
 * reference; one that leaves mid-job has its tasks finished by the other.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareVolunteering, startTestCoordinator, type TestCoordinator } from '../../../server/src/http/testing.ts';
import { decodePrimesOutput, encodePrimesInput } from '../../../wasm/tasks/primes/codec.ts';
import { countPrimesReference } from '../../../wasm/tasks/primes/reference.ts';
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
    const until = Date.now() + 5_000;
    while (counted() < ranges.length && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(counted()).toBe(ranges.length);
  });

  it('an agent that drops mid-job: the other finishes its tasks long before their deadline', async () => {
    // Tasks of tens of ms, deadline two minutes: only the release at disconnect explains finishing.
    const ranges = Array.from({ length: 12 }, (_, i) => ({ lo: 1e9 + i * 30_000, hi: 1e9 + (i + 1) * 30_000 }));
    const id = await submit(ranges);
    const leaving = await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1 });
    agents.push(leaving);
    const until = Date.now() + 10_000;
    while (leaving.stats().running === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(leaving.stats().running).toBeGreaterThan(0);
    await leaving.stop();
    agents.push(await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1 }));
    expect((await waitForJob(id, 30_000)).state).toBe('completed');
    await expectCorrect(id, ranges);
  });
});
