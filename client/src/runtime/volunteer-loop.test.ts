import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileTask } from '../../../wasm/host/index.ts';
import { inlineWorkers } from '../agent/workers.ts';
import { behavingModule } from '../testing/modules.ts';
import { eventually, startScriptedCoordinator, type ScriptedCoordinator } from '../testing/scripted-coordinator.ts';
import { createModuleSource, httpBytes } from './modules.ts';
import { createMemoryOutbox, type Outbox } from './outbox.ts';
import { createPool } from './pool.ts';
import { connectVolunteer, type VolunteerConnection } from './socket.ts';
import { systemTimers } from './timers.ts';
import { createVolunteerLoop, type VolunteerLoop } from './volunteer-loop.ts';

let coordinator: ScriptedCoordinator;
let connection: VolunteerConnection | undefined;
let loop: VolunteerLoop | undefined;

beforeEach(async () => {
  coordinator = await startScriptedCoordinator();
});

afterEach(async () => {
  loop?.stop();
  connection?.close();
  await coordinator.close();
});

/** The loop over a real socket, an inline pool and fast backoff (50–100 ms). */
function startLoop(outbox: Outbox = createMemoryOutbox()): VolunteerLoop {
  connection = connectVolunteer({ url: coordinator.url, auth: { siteKey: 's', volunteerId: 'volunteer-1', agent: 'node' } });
  loop = createVolunteerLoop({
    link: connection.link,
    modules: createModuleSource({ fetchBytes: httpBytes(coordinator.url), compile: compileTask }),
    pool: createPool({ size: 1, create: inlineWorkers }),
    outbox,
    now: Date.now,
    random: Math.random,
    timers: systemTimers,
    backoff: { minMs: 50, maxMs: 100 },
  });
  loop.start();
  return loop;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('volunteer loop', () => {
  it('asks for nothing while paused, and again once resumed; nothing after stop', async () => {
    const l = startLoop();
    await eventually(() => coordinator.leaseRequests.length >= 3, 5_000, 'lease requests');
    l.pause();
    await sleep(150);
    const paused = coordinator.leaseRequests.length;
    await sleep(400);
    expect(coordinator.leaseRequests.length).toBe(paused);
    expect(l.stats().state).toBe('paused');

    l.resume();
    await eventually(() => coordinator.leaseRequests.length >= paused + 2, 5_000, 'requests after resume');

    l.stop();
    await sleep(100);
    const stopped = coordinator.leaseRequests.length;
    await sleep(300);
    expect(coordinator.leaseRequests.length).toBe(stopped);
    expect(l.stats().state).toBe('stopped');
  });

  it('finishes and reports a lease it already holds when paused', async () => {
    const module = await coordinator.addModule(await behavingModule());
    const l = startLoop();
    await eventually(() => coordinator.leaseRequests.length >= 1);
    coordinator.offer({
      leaseId: 'held',
      taskId: 't',
      module,
      input: Uint8Array.of(0, 20),
      deadline: Date.now() + 60_000,
      limits: { timeMs: 10_000, maxMemoryBytes: 1 << 20, maxOutputBytes: 64 },
    });
    await eventually(() => l.stats().running === 1, 5_000, 'the lease running');
    l.pause();
    await eventually(() => coordinator.results.length === 1, 10_000, 'the result');
    expect(coordinator.results[0]?.leaseId).toBe('held');
    await eventually(() => l.stats().completed === 1);
  });

  it('sends what a previous run left in the outbox as soon as it connects', async () => {
    const outbox = createMemoryOutbox();
    await outbox.put({ kind: 'result', payload: { leaseId: 'from-before', output: Uint8Array.of(1, 2, 3), cpuMs: 12 } });
    await outbox.put({ kind: 'fail', payload: { leaseId: 'failed-before', kind: 'trap', message: 'unreachable' } });
    const l = startLoop(outbox);
    await eventually(() => coordinator.results.length === 1 && coordinator.fails.length === 1, 5_000, 'the resent reports');
    expect(coordinator.results[0]).toMatchObject({ leaseId: 'from-before', cpuMs: 12 });
    expect([...(coordinator.results[0]?.output ?? [])]).toEqual([1, 2, 3]);
    expect(coordinator.fails[0]).toEqual({ leaseId: 'failed-before', kind: 'trap', message: 'unreachable' });
    await eventually(() => l.stats().unsent === 0);
    expect(await outbox.list()).toEqual([]);
  });
});
