import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AckReply, AdoptedNotice, FailRequest, Lease, LeaseReply, LeaseRequest, ResultRequest, RevokeNotice } from '../../../server/src/protocol/events.ts';
import { compileTask } from '../../../wasm/host/index.ts';
import { inlineWorkers } from '../agent/workers.ts';
import { plainLease } from '../testing/leases.ts';
import { behavingModule } from '../testing/modules.ts';
import { eventually, startScriptedCoordinator, type ScriptedCoordinator } from '../testing/scripted-coordinator.ts';
import { createModuleSource, httpBytes } from './modules.ts';
import { createMemoryOutbox, type Outbox } from './outbox.ts';
import { createPool, type Pool, type PoolOutcome } from './pool.ts';
import { connectVolunteer, type VolunteerConnection } from './socket.ts';
import { systemTimers, type Timers } from './timers.ts';
import { ANSWER_WAIT_MAX_MS, LINGER_MS } from './report-hold.ts';
import { createVolunteerLoop, leaseRequestFor, type CoordinatorLink, type VolunteerLoop } from './volunteer-loop.ts';

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
function startLoop(outbox: Outbox = createMemoryOutbox(), backoff = { minMs: 50, maxMs: 100 }): VolunteerLoop {
  connection = connectVolunteer({ url: coordinator.url, auth: { siteKey: 's', volunteerId: 'volunteer-1', agent: 'node' } });
  loop = createVolunteerLoop({
    link: connection.link,
    modules: createModuleSource({ fetchBytes: httpBytes(coordinator.url), compile: compileTask }),
    pool: createPool({ size: 1, create: inlineWorkers }),
    outbox,
    now: Date.now,
    random: Math.random,
    timers: systemTimers,
    backoff,
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
      job: { id: 'j', title: null, purpose: null },
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

  it('announces its workers and asks for one running plus one queued lease per worker', async () => {
    startLoop();
    await eventually(() => coordinator.leaseRequests.length >= 1);
    expect(coordinator.leaseRequests[0]).toEqual({ slots: 2, workers: 1 });
  });

  it('asks again at once on the coordinator\'s `work` hint instead of waiting out its back-off', async () => {
    // A back-off far longer than the test waits: only the hint can explain a second request.
    const l = startLoop(createMemoryOutbox(), { minMs: 30_000, maxMs: 30_000 });
    await eventually(() => coordinator.leaseRequests.length === 1, 5_000, 'the first request');
    await sleep(100);
    expect(coordinator.leaseRequests).toHaveLength(1);
    for (const socket of coordinator.sockets()) socket.emit('work', {});
    await eventually(() => coordinator.leaseRequests.length === 2, 1_000, 'a request right after `work`');
    expect(l.stats().state).toBe('running');
  });
});

/** A link whose lease answers the test gives by hand; results and failures are acknowledged `ok`. */
function fakeLink(options: { holdAcks?: boolean } = {}) {
  const requests: LeaseRequest[] = [];
  const answers: ((reply: LeaseReply) => void)[] = [];
  const reports: (ResultRequest | FailRequest)[] = [];
  const heldAcks: (() => void)[] = [];
  const listeners = {
    connect: new Set<() => void>(),
    revoke: new Set<(notice: RevokeNotice) => void>(),
    adopted: new Set<(notice: AdoptedNotice) => void>(),
    work: new Set<() => void>(),
  };
  const subscribe = <T>(set: Set<T>, listener: T) => {
    set.add(listener);
    return () => void set.delete(listener);
  };
  const ack = async (request: ResultRequest | FailRequest): Promise<AckReply> => {
    reports.push(request);
    if (options.holdAcks) await new Promise<void>((resolve) => heldAcks.push(resolve));
    return { ok: true };
  };
  const link: CoordinatorLink = {
    connected: () => true,
    lease: (request) =>
      new Promise((resolve) => {
        requests.push(request);
        answers.push(resolve);
      }),
    result: ack,
    fail: ack,
    onConnect: (listener) => subscribe(listeners.connect, listener),
    onRevoke: (listener) => subscribe(listeners.revoke, listener),
    onAdopted: (listener) => subscribe(listeners.adopted, listener),
    setHolding: () => {},
    onWork: (listener) => subscribe(listeners.work, listener),
    disconnect: () => void (connections.closed += 1),
    connect: () => void (connections.opened += 1),
  };
  const connections = { closed: 0, opened: 0 };
  return {
    link,
    connections,
    requests,
    reports,
    /** Answers the oldest unanswered lease request. */
    answer(...leases: Lease[]) {
      const resolve = answers.shift();
      if (!resolve) throw new Error('no lease request is waiting');
      resolve({ leases });
    },
    /** Answers the oldest unanswered lease request with this reply. */
    answerWith(reply: LeaseReply) {
      const resolve = answers.shift();
      if (!resolve) throw new Error('no lease request is waiting');
      resolve(reply);
    },
    inFlight: () => answers.length,
    /** With `holdAcks`: acknowledges the oldest report still waiting. */
    ackReport() {
      const resolve = heldAcks.shift();
      if (!resolve) throw new Error('no report is waiting for its acknowledgement');
      resolve();
    },
    work: () => listeners.work.forEach((listener) => listener()),
    connect: () => listeners.connect.forEach((listener) => listener()),
    revoke: (leaseIds: string[]) => listeners.revoke.forEach((listener) => listener({ leaseIds })),
    adopted: (leaseIds: string[]) => listeners.adopted.forEach((listener) => listener({ leaseIds })),
  };
}

/** A pool whose tasks end when the test says so. */
function fakePool(size: number) {
  const running = new Map<string, (outcome: PoolOutcome) => void>();
  const started: string[] = [];
  const pool: Pool = {
    size,
    free: () => size - running.size,
    run: (task) =>
      new Promise((resolve) => {
        started.push(task.id);
        running.set(task.id, resolve);
      }),
    cancel(id) {
      const resolve = running.get(id);
      running.delete(id);
      resolve?.({ ok: false, kind: 'cancelled', message: 'cancelled', ms: 0 });
      return resolve !== undefined;
    },
    close: () => [...running.keys()].forEach((id) => pool.cancel(id)),
  };
  return {
    pool,
    started,
    finish(id: string, ms = 50) {
      const resolve = running.get(id);
      if (!resolve) throw new Error(`${id} is not running`);
      running.delete(id);
      resolve({ ok: true, output: Uint8Array.of(7), ms });
    },
    running: () => [...running.keys()],
  };
}

/** Timers that fire only when the test advances them. */
function manualTimers() {
  let next = 0;
  const pending = new Map<number, () => void>();
  const delays: number[] = [];
  const timers: Timers = {
    setTimeout(callback, ms) {
      next += 1;
      pending.set(next, callback);
      delays.push(ms);
      return next;
    },
    clearTimeout: (handle) => void pending.delete(handle as number),
  };
  return {
    timers,
    /** The delay of every timer set, in order. */
    delays,
    pending: () => pending.size,
    fireAll() {
      const due = [...pending.values()];
      pending.clear();
      due.forEach((callback) => callback());
    },
  };
}

/** Lets every settled promise's callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('volunteer loop with a fake link and pool', () => {
  let clock = 1_000_000;
  const lease = (leaseId: string, deadline = clock + 60_000): Lease => plainLease(leaseId, deadline);

  function harness(
    workers: number,
    outbox: Outbox = createMemoryOutbox(),
    linkOptions: { holdAcks?: boolean } = {},
    adjust: (link: CoordinatorLink) => CoordinatorLink = (link) => link,
  ) {
    clock = 1_000_000;
    const fake = fakeLink(linkOptions);
    fake.link = adjust(fake.link);
    const fakeWorkers = fakePool(workers);
    const time = manualTimers();
    const l = createVolunteerLoop({
      link: fake.link,
      modules: { get: async () => ({}) as WebAssembly.Module, cached: () => [] },
      pool: fakeWorkers.pool,
      outbox,
      now: () => clock,
      random: () => 0,
      timers: time.timers,
    });
    loop = l;
    l.start();
    return { link: fake, workers: fakeWorkers, time, loop: l };
  }

  it.each([
    { workers: 1, active: 0, queued: 0, held: 0, slots: 2 },
    { workers: 4, active: 0, queued: 0, held: 0, slots: 8 },
    { workers: 4, active: 4, queued: 3, held: 7, slots: 1 },
    { workers: 4, active: 4, queued: 4, held: 8, slots: 0 },
    { workers: 3, active: 2, queued: 0, held: 2, slots: 4 },
    { workers: 64, active: 0, queued: 0, held: 0, slots: 128 },
    { workers: 100, active: 0, queued: 0, held: 0, slots: 128 },
    // Two reports not yet answered still count on the coordinator's side.
    { workers: 2, active: 1, queued: 0, held: 3, slots: 1 },
    { workers: 2, active: 0, queued: 0, held: 4, slots: 0 },
  ])('$workers workers, $active running, $queued queued, $held held: asks for $slots', ({ workers, active, queued, held, slots }) => {
    const request = leaseRequestFor({ workers, active, queued, held, cached: [] });
    expect(request?.slots ?? 0).toBe(slots);
    if (request) expect(request.workers).toBe(Math.min(64, workers));
  });

  it('keeps one queued lease per worker, and asks for one more as each worker frees', async () => {
    const { link, workers } = harness(2);
    await settle();
    expect(link.requests).toEqual([{ slots: 4, workers: 2 }]);
    link.answer(lease('a'), lease('b'), lease('c'));
    await settle();
    expect(workers.started).toEqual(['a', 'b']);
    // Three in hand of four: it asks for the missing queued one at once.
    expect(link.requests[1]).toEqual({ slots: 1, workers: 2 });
    link.answer(lease('d'));
    await settle();
    expect(loop?.stats()).toMatchObject({ running: 2, queued: 2 });
    expect(link.inFlight()).toBe(0);
    expect(link.requests).toHaveLength(2);

    // A finishing worker takes a queued lease without a round trip, then the loop refills the queue.
    workers.finish('a');
    await settle();
    expect(workers.started).toEqual(['a', 'b', 'c']);
    expect(link.requests[2]).toEqual({ slots: 1, workers: 2 });
    expect(link.reports).toEqual([{ leaseId: 'a', output: Uint8Array.of(7), cpuMs: 50 }]);
  });

  it('counts a report not yet answered as held, as the coordinator does, and asks for its successor once answered', async () => {
    const { link, workers, time } = harness(1, createMemoryOutbox(), { holdAcks: true });
    await settle();
    link.answer(lease('a'), lease('b'));
    await settle();
    workers.finish('a');
    await settle();
    // 'b' runs and 'a' awaits its answer: two held of the coordinator's two, so no request yet.
    expect(workers.started).toEqual(['a', 'b']);
    expect(link.reports.map((report) => report.leaseId)).toEqual(['a']);
    expect(link.requests).toHaveLength(1);
    expect(time.pending()).toBe(0);
    link.ackReport();
    await settle();
    expect(link.requests[1]).toEqual({ slots: 1, workers: 1 });
  });

  it('after a reconnect still counts what it holds, since a restarted coordinator lets the new session adopt it', async () => {
    const { link, workers } = harness(1, createMemoryOutbox(), { holdAcks: true });
    await settle();
    link.answer(lease('a'), lease('b'));
    await settle();
    link.connect();
    await settle();
    workers.finish('a');
    await settle();
    expect(link.reports.map((report) => report.leaseId)).toEqual(['a']);
    expect(link.requests).toHaveLength(1);
    link.ackReport();
    await settle();
    expect(link.requests[1]).toEqual({ slots: 1, workers: 1 });
  });

  it('after a reconnect drops the running and queued leases the new connection did not adopt, and keeps the adopted ones', async () => {
    const { link, workers } = harness(2);
    await settle();
    link.answer(lease('a'), lease('b'), lease('c'), lease('d'));
    await settle();
    expect(workers.running()).toEqual(['a', 'b']);
    // The coordinator restarted (or our node died): the new connection took over `a` and `c` only.
    link.connect();
    link.adopted(['a', 'c']);
    await settle();
    // `b`'s worker was stopped and `d` dropped: neither is reported; `c` took the freed worker.
    expect(workers.running()).toEqual(['a', 'c']);
    expect(loop?.stats()).toMatchObject({ revoked: 2, queued: 0, running: 2 });
    workers.finish('a');
    workers.finish('c');
    await settle();
    expect(link.reports.map((report) => report.leaseId).sort()).toEqual(['a', 'c']);
    // A second notice on the same connection drops nothing more.
    link.answer(lease('e'));
    await settle();
    link.adopted([]);
    await settle();
    expect(workers.running()).toEqual(['e']);
  });

  it('after a reconnect to a coordinator that took everything back, stops its running task and asks again for all its slots', async () => {
    const { link, workers } = harness(1);
    await settle();
    link.answer(lease('a'), lease('b'));
    await settle();
    link.connect();
    link.adopted([]);
    await settle();
    expect(workers.running()).toEqual([]);
    expect(loop?.stats()).toMatchObject({ revoked: 2, running: 0, queued: 0 });
    expect(link.requests.at(-1)).toEqual({ slots: 2, workers: 1 });
  });

  it('keeps the report of a carried lease that finished before the adopted notice came', async () => {
    const { link, workers } = harness(1, createMemoryOutbox(), { holdAcks: true });
    await settle();
    link.answer(lease('a'), lease('b'));
    await settle();
    link.connect();
    workers.finish('a');
    await settle();
    link.adopted([]);
    await settle();
    // `b` was dropped; `a`'s result stays in the outbox, is sent, and its answer counts.
    expect(loop?.stats()).toMatchObject({ revoked: 1, queued: 0, running: 0, unsent: 1 });
    expect(link.reports.map((report) => report.leaseId)).toEqual(['a']);
    link.ackReport();
    await settle();
    expect(loop?.stats()).toMatchObject({ completed: 1, unsent: 0, dropped: 0 });
  });

  it('keeps a report the outbox failed to store, and sends it again after a lost acknowledgement', async () => {
    const broken: Outbox = {
      put: async () => {
        throw new Error('QuotaExceededError');
      },
      delete: async () => undefined,
      list: async () => [],
    };
    let lost = 1;
    const { link, workers, time, loop: l } = harness(1, broken, {}, (inner) => ({
      ...inner,
      // The first acknowledgement never comes (a timeout while still connected).
      result: (request) => (lost-- > 0 ? Promise.reject(new Error('operation has timed out')) : inner.result(request)),
    }));
    await settle();
    link.answer(lease('a'));
    await settle();
    workers.finish('a');
    await settle();
    expect(l.stats()).toMatchObject({ unsent: 1, completed: 0 });
    time.fireAll();
    await settle();
    expect(link.reports.map((report) => report.leaseId)).toEqual(['a']);
    expect(l.stats()).toMatchObject({ unsent: 0, completed: 1 });
  });

  it('drops a queued lease whose deadline passed before a worker took it, without running or reporting it', async () => {
    const { link, workers } = harness(1);
    await settle();
    link.answer(lease('long'), lease('short', clock + 1_000));
    await settle();
    expect(workers.started).toEqual(['long']);
    clock += 5_000;
    workers.finish('long');
    await settle();
    expect(workers.started).toEqual(['long']);
    expect(loop?.stats()).toMatchObject({ expired: 1, queued: 0, running: 0, failed: 0 });
    expect(link.reports.map((report) => report.leaseId)).toEqual(['long']);
  });

  it('runs a lease whose deadline seemed past on arrival (our clock is off): the coordinator decides', async () => {
    const { link, workers } = harness(1);
    await settle();
    link.answer(lease('now'), lease('skewed', clock - 10_000));
    await settle();
    workers.finish('now');
    await settle();
    expect(workers.started).toEqual(['now', 'skewed']);
    expect(loop?.stats().expired).toBe(0);
  });

  it('rests each worker after a task in proportion to its share, and starts queued work when the rest ends', async () => {
    const { link, workers, time, loop: l } = harness(1);
    l.configure({ workers: 1, share: 0.5 });
    await settle();
    link.answer(lease('a'), lease('b'));
    await settle();
    expect(workers.started).toEqual(['a']);
    workers.finish('a', 400);
    await settle();
    // At 50 %, 400 ms of work earns 400 ms of rest: 'b' waits for it.
    expect(workers.started).toEqual(['a']);
    expect(l.stats()).toMatchObject({ resting: 1, queued: 1, share: 0.5 });
    expect(time.delays).toContain(400);
    clock += 400;
    time.fireAll();
    await settle();
    expect(workers.started).toEqual(['a', 'b']);
  });

  it('at full share a worker takes its next task at once', async () => {
    const { link, workers, loop: l } = harness(1);
    l.configure({ workers: 1, share: 1 });
    await settle();
    link.answer(lease('a'), lease('b'));
    await settle();
    workers.finish('a', 400);
    await settle();
    expect(workers.started).toEqual(['a', 'b']);
  });

  it('runs no more tasks at once than the policy allows, whatever the pool\'s size', async () => {
    const { link, workers, loop: l } = harness(4);
    l.configure({ workers: 1, share: 1 });
    await settle();
    link.answer(lease('a'), lease('b'));
    await settle();
    expect(workers.started).toEqual(['a']);
    workers.finish('a');
    await settle();
    expect(workers.started).toEqual(['a', 'b']);
    expect(link.requests.at(-1)).toEqual({ slots: 1, workers: 1 });
  });

  it('paused, starts nothing new: queued leases wait and the running one finishes', async () => {
    const { link, workers, loop: l } = harness(1);
    await settle();
    link.answer(lease('a'), lease('b'));
    await settle();
    l.pause();
    workers.finish('a');
    await settle();
    expect(workers.started).toEqual(['a']);
    expect(link.reports.map((report) => report.leaseId)).toEqual(['a']);
    l.resume();
    await settle();
    expect(workers.started).toEqual(['a', 'b']);
  });

  it('suspended, terminates running work, drops the queue and disconnects; resumed, reconnects and asks again', async () => {
    const { link, workers, loop: l } = harness(2);
    await settle();
    link.answer(lease('a'), lease('b'), lease('c'));
    await settle();
    expect(workers.running()).toEqual(['a', 'b']);
    l.suspend();
    await settle();
    expect(workers.running()).toEqual([]);
    expect(l.stats()).toMatchObject({ state: 'suspended', running: 0, queued: 0 });
    expect(link.connections.closed).toBe(1);
    // Terminated work is not reported: the coordinator took the leases back at the disconnect.
    expect(link.reports).toEqual([]);
    const asked = link.requests.length;
    l.resume();
    link.connect();
    await settle();
    expect(link.connections.opened).toBe(1);
    expect(link.requests.length).toBe(asked + 1);
    expect(link.requests.at(-1)).toEqual({ slots: 4, workers: 2 });
  });

  it('drops a revoked queued lease', async () => {
    const { link, workers } = harness(1);
    await settle();
    link.answer(lease('a'), lease('b'));
    await settle();
    link.revoke(['b']);
    workers.finish('a');
    await settle();
    expect(workers.started).toEqual(['a']);
    expect(loop?.stats()).toMatchObject({ revoked: 1, queued: 0 });
  });

  it('on `work`, cancels its back-off and asks at once, never with two requests in flight', async () => {
    const { link, time } = harness(1);
    await settle();
    link.answer();
    await settle();
    expect(time.pending()).toBe(1);
    link.work();
    await settle();
    expect(time.pending()).toBe(0);
    expect(link.requests).toHaveLength(2);
    // A hint while that request is out sends nothing more now...
    link.work();
    link.work();
    await settle();
    expect(link.requests).toHaveLength(2);
    expect(link.inFlight()).toBe(1);
    // ...but its empty answer, older than the hint, is followed by a new request, not a back-off.
    link.answer();
    await settle();
    expect(link.requests).toHaveLength(3);
    expect(time.pending()).toBe(0);
    // Without a hint, an empty answer backs off again.
    link.answer();
    await settle();
    expect(link.requests).toHaveLength(3);
    expect(time.pending()).toBe(1);
    time.fireAll();
    await settle();
    expect(link.requests).toHaveLength(4);
  });

  it('waits as long as the coordinator says when it is cooling down, instead of its own back-off', async () => {
    const { link, time } = harness(1);
    await settle();
    link.answerWith({ leases: [], retryAfterMs: 7_500 });
    await settle();
    expect(time.delays).toEqual([7_500]);
    time.fireAll();
    await settle();
    expect(link.requests).toHaveLength(2);
    // Beyond the longest cool-down there is, it waits no longer than that.
    link.answerWith({ leases: [], retryAfterMs: 3_600_000 });
    await settle();
    expect(time.delays).toEqual([7_500, 60_000]);
  });

  it('ignores `work` while paused', async () => {
    const { link, loop: l } = harness(1);
    await settle();
    link.answer();
    await settle();
    l.pause();
    link.work();
    await settle();
    expect(link.requests).toHaveLength(1);
  });

  it('sends a report once, though two outbox listings overlapped its acknowledgement', async () => {
    // An outbox whose listings answer when the test says, with what it held when asked (as an
    // IndexedDB transaction would).
    const memory = createMemoryOutbox();
    await memory.put({ kind: 'result', payload: { leaseId: 'left-behind', output: Uint8Array.of(9), cpuMs: 1 } });
    const listings: (() => void)[] = [];
    const gated: Outbox = {
      put: memory.put,
      delete: memory.delete,
      list: async () => {
        const held = await memory.list();
        await new Promise<void>((resolve) => listings.push(resolve));
        return held;
      },
    };
    const { link } = harness(1, gated);
    link.connect();
    await settle();
    expect(listings).toHaveLength(2);
    listings[0]?.();
    await settle();
    expect(link.reports).toHaveLength(1);
    listings[1]?.();
    await settle();
    expect(link.reports).toHaveLength(1);
    expect(loop?.stats()).toMatchObject({ completed: 1, unsent: 0 });
    expect(await memory.list()).toEqual([]);
  });

  it('holds the results of tiny tasks until the last lease in hand finishes, then asks for every freed lease in one request', async () => {
    const { link, workers, loop: l } = harness(2, createMemoryOutbox(), { holdAcks: true });
    await settle();
    link.answer(lease('a'), lease('b'), lease('c'), lease('d'));
    await settle();
    for (const id of ['a', 'b', 'c']) {
      workers.finish(id, 1);
      await settle();
    }
    // Three finished, one still in hand: they wait for it, stored, and counted as unsent.
    expect(workers.started).toEqual(['a', 'b', 'c', 'd']);
    expect(link.reports).toEqual([]);
    expect(l.stats()).toMatchObject({ unsent: 3, running: 1 });
    workers.finish('d', 1);
    await settle();
    expect(link.reports.map((report) => report.leaseId)).toEqual(['a', 'b', 'c', 'd']);
    // No request while their answers are awaited: each answer frees a lease.
    expect(link.requests).toHaveLength(1);
    for (let i = 0; i < 3; i++) link.ackReport();
    await settle();
    expect(link.requests).toHaveLength(1);
    link.ackReport();
    await settle();
    expect(link.requests).toEqual([
      { slots: 4, workers: 2 },
      { slots: 4, workers: 2 },
    ]);
    expect(l.stats()).toMatchObject({ completed: 4, unsent: 0 });
  });

  it('sends a held result after LINGER_MS though other leases still run, and a long task\'s result at once', async () => {
    const { link, workers, time } = harness(2);
    await settle();
    link.answer(lease('a'), lease('b'));
    await settle();
    workers.finish('a', 1);
    await settle();
    expect(link.reports).toEqual([]);
    expect(time.delays).toEqual([LINGER_MS]);
    time.fireAll();
    await settle();
    expect(link.reports.map((report) => report.leaseId)).toEqual(['a']);

    link.answer(lease('c'));
    await settle();
    workers.finish('b', LINGER_MS);
    await settle();
    expect(link.reports.map((report) => report.leaseId)).toEqual(['a', 'b']);
  });

  /**
   * Two leases of the four asked for, then an empty answer (a back-off runs, two slots are free);
   * lease 'a' finishes in `taskMs`, and the back-off ends (and a held result's linger with it)
   * while the answer for 'a' is awaited.
   */
  async function awaitingAnswerFor(taskMs: number) {
    const run = harness(2, createMemoryOutbox(), { holdAcks: true });
    const { link, workers, time } = run;
    await settle();
    link.answer(lease('a'));
    await settle();
    link.answer(lease('b'));
    await settle();
    link.answer();
    await settle();
    expect(link.requests).toHaveLength(3);
    workers.finish('a', taskMs);
    await settle();
    time.fireAll();
    await settle();
    expect(link.reports.map((report) => report.leaseId)).toEqual(['a']);
    return run;
  }

  it.each([
    { taskMs: 50, waits: false },
    { taskMs: 1, waits: true },
  ])('after a $taskMs ms task, a lease request waits for the answer awaited: $waits', async ({ taskMs, waits }) => {
    const { link } = await awaitingAnswerFor(taskMs);
    expect(link.requests).toHaveLength(waits ? 3 : 4);
    link.ackReport();
    await settle();
    expect(link.requests).toHaveLength(4);
    // Waiting, it asks for the lease the answer freed too.
    expect(link.requests[3]).toEqual({ slots: waits ? 3 : 2, workers: 2 });
  });

  it('asks anyway once ANSWER_WAIT_MAX_MS passed with an answer still unacknowledged (a slow or dying coordinator)', async () => {
    const { link, time } = await awaitingAnswerFor(1);
    // The answer for 'a' went and is never acknowledged: the request waits, then goes.
    expect(link.requests).toHaveLength(3);
    expect(time.delays).toContain(ANSWER_WAIT_MAX_MS);
    clock += ANSWER_WAIT_MAX_MS;
    time.fireAll();
    await settle();
    expect(link.requests).toHaveLength(4);
  });

  it('sends a tiny task\'s result at once while paused (nothing more will start)', async () => {
    const { link, workers, loop: l } = harness(1);
    await settle();
    link.answer(lease('a'), lease('b'));
    await settle();
    l.pause();
    workers.finish('a', 1);
    await settle();
    expect(link.reports.map((report) => report.leaseId)).toEqual(['a']);
  });
});

describe('local tasks (the host page\'s own run())', () => {
  const limits = { maxMemoryBytes: 1 << 20, maxOutputBytes: 64 };
  const lease = (leaseId: string, module: Lease['module'], input: Uint8Array): Lease => ({
    leaseId,
    taskId: leaseId,
    job: { id: 'j', title: null, purpose: null },
    module,
    input,
    deadline: Date.now() + 60_000,
    limits: { timeMs: 10_000, ...limits },
  });

  it('runs on a free worker and answers the output', async () => {
    const l = startLoop();
    const module = await compileTask(await behavingModule(), 1 << 20);
    const outcome = await l.runLocal({ id: 'local-1', module, input: Uint8Array.of(41), limits, timeoutMs: 5_000 }, 1_000);
    expect(outcome).toMatchObject({ ok: true });
    expect([...((outcome as { output: Uint8Array }).output)]).toEqual([42]);
  });

  it('runs while paused (a pause holds grid work only), answers busy when suspended', async () => {
    const l = startLoop();
    const module = await compileTask(await behavingModule(), 1 << 20);
    l.pause();
    expect(await l.runLocal({ id: 'local-2', module, input: Uint8Array.of(1), limits, timeoutMs: 5_000 }, 200)).toMatchObject({ ok: true });
    l.suspend();
    expect(await l.runLocal({ id: 'local-3', module, input: Uint8Array.of(1), limits, timeoutMs: 5_000 }, 200)).toBe('busy');
  });

  it('takes the next free worker before a queued lease', async () => {
    const bytes = await behavingModule();
    const hashed = await coordinator.addModule(bytes);
    // Compiled first: nothing asynchronous between seeing the lease queued and asking.
    const module = await compileTask(bytes, 1 << 20);
    const l = startLoop();
    await eventually(() => coordinator.leaseRequests.length >= 1);
    const order: string[] = [];
    // The inline pool runs wasm on this thread, so no timer can look in while 'first' runs: the
    // page's task is asked for at the moment the loop reports one lease running and one queued.
    const local = new Promise<unknown>((resolve) => {
      const dispose = l.onStats((stats) => {
        if (stats.running !== 1 || stats.queued !== 1) return;
        dispose();
        resolve(
          l.runLocal({ id: 'local-3', module, input: Uint8Array.of(7), limits, timeoutMs: 5_000 }, 10_000).then((outcome) => {
            order.push(`local:${coordinator.results.map((r) => r.leaseId).join(',')}`);
            return outcome;
          }),
        );
      });
    });
    coordinator.offer(lease('first', hashed, Uint8Array.of(0, 60)), lease('second', hashed, Uint8Array.of(5)));
    expect(await local).toMatchObject({ ok: true });
    await eventually(() => coordinator.results.length === 2, 10_000, 'both leases');
    // When the local task finished, only the lease that was already running had reported.
    expect(order[0]).toMatch(/^local:(first)?$/);
  });
});
