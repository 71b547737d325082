import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Lease } from '../../../server/src/protocol/events.ts';
import { tableBomb } from '../../../wasm/testing/hostile-modules.ts';
import { behavingModule, LOOP } from '../testing/modules.ts';
import { eventually, startScriptedCoordinator, type ScriptedCoordinator } from '../testing/scripted-coordinator.ts';
import { PREFETCH } from '../runtime/volunteer-loop.ts';
import { startNodeVolunteer, type NodeVolunteer } from './index.ts';

let coordinator: ScriptedCoordinator;
let module: { hash: string; url: string };
const volunteers: NodeVolunteer[] = [];
let seq = 0;

const limits = { timeMs: 10_000, maxMemoryBytes: 1 << 20, maxOutputBytes: 1024 };

function lease(input: Uint8Array, overrides: Partial<Lease> = {}): Lease {
  seq += 1;
  return { leaseId: `lease-${seq}`, taskId: `task-${seq}`, job: { id: 'job', title: null, purpose: null }, module, input, deadline: Date.now() + 60_000, limits, ...overrides };
}

async function volunteer(options: Partial<Parameters<typeof startNodeVolunteer>[0]> = {}): Promise<NodeVolunteer> {
  const started = await startNodeVolunteer({ url: coordinator.url, siteKey: 'site-1', workers: 2, ...options });
  volunteers.push(started);
  return started;
}

beforeEach(async () => {
  coordinator = await startScriptedCoordinator();
  module = await coordinator.addModule(await behavingModule());
});

afterEach(async () => {
  for (const v of volunteers.splice(0)) await v.stop();
  await coordinator.close();
});

const bytes = (data: Uint8Array | undefined): number[] => [...(data ?? [])];

describe('startNodeVolunteer against a scripted coordinator', () => {
  it('connects as a node agent, runs its leases in worker threads and reports each result', async () => {
    coordinator.offer(lease(Uint8Array.of(1)), lease(Uint8Array.of(2)), lease(Uint8Array.of(3)));
    const v = await volunteer({ volunteerId: 'volunteer-abc123' });
    await eventually(() => coordinator.results.length === 3, 10_000, 'three results');

    expect(coordinator.auths).toEqual([{ siteKey: 'site-1', volunteerId: 'volunteer-abc123', agent: 'node' }]);
    const outputs = Object.fromEntries(coordinator.results.map((r) => [r.leaseId, bytes(r.output)]));
    expect(outputs).toEqual({ [`lease-${seq - 2}`]: [2], [`lease-${seq - 1}`]: [3], [`lease-${seq}`]: [4] });
    for (const r of coordinator.results) expect(r.cpuMs).toBeGreaterThanOrEqual(0);
    // Never more slots than the prefetch bound (a running and a queued lease per worker); the
    // module was fetched once and then offered as a hint.
    expect(Math.max(...coordinator.leaseRequests.map((r) => r.slots))).toBeLessThanOrEqual(2 * (1 + PREFETCH));
    expect(coordinator.moduleFetches).toBe(1);
    await eventually(() => coordinator.leaseRequests.some((r) => r.cached?.includes(module.hash)), 5_000, 'a cached hint');
    await eventually(() => v.stats().completed === 3, 5_000, 'completed stats');
    expect(v.stats()).toMatchObject({ completed: 3, failed: 0, running: 0, unsent: 0 });
  });

  it('runs inline too', async () => {
    coordinator.offer(lease(Uint8Array.of(9)));
    await volunteer({ execution: 'inline', workers: 1 });
    await eventually(() => coordinator.results.length === 1);
    expect(bytes(coordinator.results[0]?.output)).toEqual([10]);
  });

  it('refuses module bytes whose hash does not match: fail `invalid`, nothing run', async () => {
    // Announced as the hash of some other bytes, served as a perfectly good module.
    const liar = await coordinator.addModule(Uint8Array.of(1, 2, 3), await behavingModule());
    coordinator.offer(lease(Uint8Array.of(1), { module: liar }));
    const v = await volunteer();
    await eventually(() => coordinator.fails.length === 1);
    expect(coordinator.fails[0]).toMatchObject({ kind: 'invalid' });
    expect(coordinator.fails[0]?.message).toMatch(/hash/);
    expect(coordinator.results).toHaveLength(0);
    await eventually(() => v.stats().failed === 1);
  });

  it('given a module that skipped the upload check (the table bomb), fails it `invalid` and keeps working', async () => {
    // The scripted coordinator serves whatever it is given: no upload check stood in the way.
    const bomb = await coordinator.addModule(await tableBomb());
    coordinator.offer(lease(Uint8Array.of(1), { module: bomb }), lease(Uint8Array.of(7)), lease(Uint8Array.of(2), { module: bomb }));
    const v = await volunteer({ workers: 1 });
    await eventually(() => coordinator.fails.length === 2 && coordinator.results.length === 1, 10_000, 'two refusals and a result');
    for (const fail of coordinator.fails) {
      expect(fail).toMatchObject({ kind: 'invalid' });
      expect(fail.message).toMatch(/table 0 declares 10,000,000 entries; the limit is 1,000,000/);
    }
    expect(bytes(coordinator.results[0]?.output)).toEqual([8]);
    // This process is the agent: it is alive, its heap far from the 5 GB the tables would take.
    expect(process.memoryUsage().heapUsed).toBeLessThan(1024 * 1024 * 1024);
    coordinator.offer(lease(Uint8Array.of(41)));
    await eventually(() => coordinator.results.length === 2, 10_000, 'a later result');
    expect(bytes(coordinator.results[1]?.output)).toEqual([42]);
    await eventually(() => v.stats().failed === 2 && v.stats().completed === 2);
  });

  it('fails a runaway task with `timeout` at its time limit and keeps working', async () => {
    coordinator.offer(lease(LOOP, { limits: { ...limits, timeMs: 300 } }), lease(Uint8Array.of(5)));
    await volunteer({ workers: 1 });
    await eventually(() => coordinator.fails.length === 1 && coordinator.results.length === 1);
    expect(coordinator.fails[0]).toMatchObject({ leaseId: `lease-${seq - 1}`, kind: 'timeout' });
    expect(bytes(coordinator.results[0]?.output)).toEqual([6]);
  });

  it('drops revoked work without reporting it', async () => {
    coordinator.offer(lease(LOOP));
    const v = await volunteer({ workers: 1 });
    await eventually(() => v.stats().running === 1, 5_000, 'the task running');
    coordinator.revoke([`lease-${seq}`]);
    await eventually(() => v.stats().revoked === 1, 5_000, 'the revoke');
    coordinator.offer(lease(Uint8Array.of(7)));
    await eventually(() => coordinator.results.length === 1, 5_000, 'the next result');
    expect(bytes(coordinator.results[0]?.output)).toEqual([8]);
    expect(coordinator.fails).toHaveLength(0);
  });

  it('keeps a result finished while offline and sends it on reconnect', async () => {
    // About 1G busy iterations: long enough to drop the connection while it runs.
    coordinator.offer(lease(Uint8Array.of(4, 250)));
    const v = await volunteer({ workers: 1 });
    await eventually(() => v.stats().running === 1, 5_000, 'the task running');
    const firstConnection = coordinator.sockets()[0]!.id;
    v.disconnect();
    await eventually(() => v.stats().unsent === 1, 20_000, 'the result waiting offline');
    expect(coordinator.results).toHaveLength(0);
    v.reconnect();
    await eventually(() => coordinator.results.length === 1, 10_000, 'the resent result');
    expect(bytes(coordinator.results[0]?.output)).toEqual([5]);
    await eventually(() => v.stats().completed === 1 && v.stats().unsent === 0, 5_000, 'the ack');
    // The reconnection named the connection it replaces (`resumes`), the first one nothing.
    expect(coordinator.auths.map((auth) => auth.resumes)).toEqual([undefined, firstConnection]);
    // And what it still had: the finished result not yet acknowledged.
    expect(coordinator.auths.map((auth) => auth.holding)).toEqual([undefined, [`lease-${seq}`]]);
  });

  it('resends a result the coordinator could not take, and drops one it calls stale', async () => {
    const answers = new Map<string, number>();
    coordinator.ackWith = (_event, payload) => {
      const count = (answers.get(payload.leaseId) ?? 0) + 1;
      answers.set(payload.leaseId, count);
      if (payload.leaseId === `lease-${seq - 1}` && count === 1) return { error: { code: 'internal', message: 'busy' } };
      if (payload.leaseId === `lease-${seq}`) return { error: { code: 'stale_lease', message: 'taken back' } };
      return { ok: true };
    };
    coordinator.offer(lease(Uint8Array.of(1)), lease(Uint8Array.of(2)));
    const v = await volunteer();
    await eventually(() => v.stats().completed === 1 && v.stats().dropped === 1, 10_000, 'retry and drop');
    expect(answers.get(`lease-${seq - 1}`)).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answers.get(`lease-${seq}`)).toBe(1);
    expect(v.stats().unsent).toBe(0);
  });

  it('backs off between empty lease answers', async () => {
    await volunteer({ workers: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // One at connect, then one every 0.5–2 s.
    expect(coordinator.leaseRequests.length).toBeGreaterThanOrEqual(1);
    expect(coordinator.leaseRequests.length).toBeLessThanOrEqual(4);
  });

  it('rejects when the coordinator refuses the handshake', async () => {
    coordinator.siteKey = 'another-site';
    await expect(startNodeVolunteer({ url: coordinator.url, siteKey: 'site-1', workers: 1 })).rejects.toThrow(/unknown site/);
  });

  it('rejects when nothing answers', async () => {
    const url = coordinator.url;
    await coordinator.close();
    await expect(startNodeVolunteer({ url, siteKey: 'site-1', workers: 1, connectTimeoutMs: 500 })).rejects.toThrow(/cannot reach/);
    coordinator = await startScriptedCoordinator();
  });
});
