import { createServer, connect as connectTcp, type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { io as connectClient, type Socket } from 'socket.io-client';
import { compileTask, runTask } from '../../../wasm/host/index.ts';
import { countPrimesReference } from '../../../wasm/tasks/primes/reference.ts';
import type { Lease, LeaseReply, AckReply, RateLimitedBody } from '../protocol/events.ts';
import { prepareVolunteering, startTestCoordinator, type TestCoordinator } from '../http/testing.ts';
import { originAllowed, releaseCause } from './volunteer.ts';

let c: TestCoordinator;
let siteKey: string;
let moduleHash: string;
const clients: Socket[] = [];

const u32pair = (lo: number, hi: number): string => {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32LE(lo, 0);
  bytes.writeUInt32LE(hi, 4);
  return bytes.toString('base64');
};

beforeEach(async () => {
  // About the socket, not earned quota: a new volunteer may take many leases at once here.
  c = await startTestCoordinator({ quota: { initial: 64, max: 64 } });
  await c.listen();
  ({ siteKey, moduleHash } = await prepareVolunteering(c, 'primes'));
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await c.close();
});

async function createJob(ranges: [number, number][], about: { title?: string; purpose?: string } = {}): Promise<string> {
  const reply = await c.api('POST', '/jobs', { module: moduleHash, inputs: ranges.map(([lo, hi]) => u32pair(lo, hi)), ...about });
  expect(reply.statusCode).toBe(201);
  return reply.json().id;
}

let volunteerCount = 0;
function volunteer(options: { auth?: Record<string, unknown>; origin?: string } = {}): Socket {
  const client = connectClient(`${c.url}/volunteer`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: options.auth ?? { siteKey, volunteerId: `volunteer-${++volunteerCount}-abcdef`, agent: 'node' },
    ...(options.origin ? { extraHeaders: { origin: options.origin } } : {}),
  });
  clients.push(client);
  return client;
}

function connected(client: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('connect_error', (error) => reject(error));
  });
}

/**
 * A TCP relay to `target` that can go silent without closing anything, as a network that drops
 * packets does; a close on either side is passed on.
 */
async function silentRelay(target: string): Promise<{ url: string; silence(): void; close(): void }> {
  const port = Number(new URL(target).port);
  let silent = false;
  const piped = new Set<{ destroy(): void }>();
  const relay = createServer((inbound) => {
    const outbound = connectTcp(port, '127.0.0.1');
    piped.add(inbound).add(outbound);
    inbound.on('data', (chunk) => void (silent || outbound.write(chunk)));
    outbound.on('data', (chunk) => void (silent || inbound.write(chunk)));
    const close = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close).on('close', close);
    outbound.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
    silence: () => void (silent = true),
    close() {
      for (const socket of piped) socket.destroy();
      relay.close();
    },
  };
}

/** The lease ids of the connection's `adopted` notice (listen before it connects). */
function adoptedNotice(client: Socket): Promise<string[]> {
  return new Promise((resolve) => client.once('adopted', (notice: { leaseIds: string[] }) => resolve([...notice.leaseIds].sort())));
}

async function refusal(client: Socket): Promise<Error> {
  return connected(client).then(
    () => {
      throw new Error('connection was accepted');
    },
    (error: Error) => error,
  );
}

/** Asks for leases; a client polling for work waits as told when it is rate-limited. */
async function lease(client: Socket, payload: unknown = { slots: 1 }): Promise<LeaseReply> {
  for (;;) {
    const reply: LeaseReply = await client.timeout(5000).emitWithAck('lease', payload);
    if (!('error' in reply) || reply.error.code !== 'rate_limited') return reply;
    await new Promise((resolve) => setTimeout(resolve, (reply as RateLimitedBody).error.retryAfterMs));
  }
}
const send = (client: Socket, event: 'result' | 'fail', payload: unknown): Promise<AckReply> =>
  client.timeout(5000).emitWithAck(event, payload);

function leasesOf(reply: LeaseReply): Lease[] {
  if ('error' in reply) throw new Error(`lease refused: ${reply.error.message}`);
  return reply.leases;
}

async function jobStatus(id: string) {
  return (await c.api('GET', `/jobs/${id}`)).json();
}

describe('/volunteer', () => {
  it('a volunteer with many free slots gets at most one packet-safe batch, and keeps its connection', async () => {
    await createJob(Array.from({ length: 20 }, (_, i): [number, number] => [i * 10, i * 10 + 10]));
    const client = volunteer();
    await connected(client);
    // socket.io-client refuses a packet of more than 10 binary attachments (each lease input is one).
    const first = leasesOf(await lease(client, { slots: 64 }));
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThanOrEqual(10);
    expect(client.connected).toBe(true);
    const second = leasesOf(await lease(client, { slots: 64 }));
    expect(second.length).toBeGreaterThan(0);
    expect(new Set([...first, ...second].map((l) => l.taskId)).size).toBe(first.length + second.length);
  });

  it('leases, runs the real module, reports the result: the job completes with the right output', async () => {
    const ranges: [number, number][] = [[0, 1000], [1000, 5000]];
    const id = await createJob(ranges, { purpose: 'Counting primes for a <school> project' });
    const client = volunteer();
    await connected(client);
    const leases = leasesOf(await lease(client, { slots: 4 }));
    expect(leases).toHaveLength(2);
    for (const l of leases) {
      // The volunteer's frame can say what its CPU works on.
      expect(l.job).toEqual({ id, title: null, purpose: 'Counting primes for a <school> project' });
      expect(l.module).toEqual({ hash: moduleHash, url: `/modules/${moduleHash}.wasm` });
      expect(l.input).toBeInstanceOf(Uint8Array);
      expect(l.deadline).toBeGreaterThan(Date.now());
      const bytes = new Uint8Array(await (await fetch(`${c.url}${l.module.url}`)).arrayBuffer());
      const module = await compileTask(bytes, l.limits.maxMemoryBytes);
      const outcome = await runTask(module, new Uint8Array(l.input), l.limits);
      if (!outcome.ok) throw new Error(outcome.message);
      expect(await send(client, 'result', { leaseId: l.leaseId, output: outcome.output, cpuMs: 3 })).toEqual({ ok: true });
      // A repeat is acknowledged and counted once.
      expect(await send(client, 'result', { leaseId: l.leaseId, output: outcome.output, cpuMs: 3 })).toEqual({ ok: true });
    }
    const status = await jobStatus(id);
    expect(status).toMatchObject({ state: 'completed', counts: { total: 2, completed: 2 } });
    const lines = (await c.api('GET', `/jobs/${id}/results`)).body.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => Buffer.from(line.output, 'base64').readUInt32LE(0))).toEqual(
      ranges.map(([lo, hi]) => countPrimesReference(lo, hi)),
    );
    expect(leasesOf(await lease(client))).toEqual([]);
  });

  it('acks each malformed payload with an error and keeps the connection working', async () => {
    await createJob([[0, 10]]);
    const client = volunteer();
    await connected(client);
    const bad: [string, unknown, RegExp][] = [
      ['lease', {}, /slots/],
      ['lease', { slots: 1, greedy: true }, /unknown field at \/greedy/],
      ['lease', { slots: 'two' }, /slots/],
      ['lease', { slots: 0 }, /slots/],
      ['lease', 'gimme', /lease/],
      ['result', { leaseId: 'x', cpuMs: 1 }, /output/],
      ['result', { leaseId: 'x', output: 'AAAA', cpuMs: 1 }, /output/],
      ['result', { leaseId: 'x', output: [1, 2, 3], cpuMs: 1 }, /output/],
      ['result', { leaseId: 'x', output: Buffer.from([1]), cpuMs: -1 }, /cpuMs/],
      ['result', { leaseId: 'x', output: Buffer.from([1]), cpuMs: 1, extra: 1 }, /unknown field/],
      ['fail', { leaseId: 'x', kind: 'oops', message: 'm' }, /kind/],
      ['fail', { leaseId: 'x', kind: 'trap' }, /message/],
    ];
    for (const [event, payload, message] of bad) {
      const reply = (await client.timeout(5000).emitWithAck(event, payload)) as AckReply;
      expect(reply, `${event} ${JSON.stringify(payload)}`).toMatchObject({ error: { code: 'bad_request' } });
      expect('error' in reply && reply.error.message).toMatch(message);
    }
    // An event without an acknowledgement is ignored, and the connection keeps working.
    client.emit('lease', { slots: 1 });
    expect(client.connected).toBe(true);
    expect(leasesOf(await lease(client))).toHaveLength(1);
  });

  it('acks a result for an unknown or finished lease as stale', async () => {
    await createJob([[0, 10]]);
    const client = volunteer();
    await connected(client);
    const reply = await send(client, 'result', { leaseId: 'no-such-lease', output: Buffer.from([0, 0, 0, 0]), cpuMs: 1 });
    expect(reply).toMatchObject({ error: { code: 'stale_lease' } });
    const [l] = leasesOf(await lease(client));
    expect(await send(client, 'fail', { leaseId: l!.leaseId, kind: 'trap', message: 'unreachable' })).toEqual({ ok: true });
    expect(await send(client, 'result', { leaseId: l!.leaseId, output: Buffer.from([0, 0, 0, 0]), cpuMs: 1 })).toMatchObject({
      error: { code: 'stale_lease' },
    });
  });

  it('refuses an output over the limit and records why on the task', async () => {
    const id = await createJob([[0, 10]]);
    const client = volunteer();
    await connected(client);
    const [l] = leasesOf(await lease(client));
    const reply = await send(client, 'result', { leaseId: l!.leaseId, output: Buffer.alloc(64 * 1024 + 1), cpuMs: 1 });
    expect(reply).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(client.connected).toBe(true);
    const [line] = (await c.api('GET', `/jobs/${id}/results`)).body.trimEnd().split('\n').map((text) => JSON.parse(text));
    expect(line.errors).toEqual([expect.objectContaining({ kind: 'invalid', message: expect.stringMatching(/exceeds the limit/) })]);
  });

  it('releases a disconnected volunteer\'s task at once to another volunteer', async () => {
    const id = await createJob([[0, 100]]);
    const first = volunteer();
    await connected(first);
    const [taken] = leasesOf(await lease(first));
    expect(taken).toBeDefined();
    const second = volunteer();
    await connected(second);
    expect(leasesOf(await lease(second))).toEqual([]);
    first.disconnect();
    let again: Lease[] = [];
    for (let i = 0; i < 50 && again.length === 0; i++) {
      again = leasesOf(await lease(second));
      if (again.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(again.map((l) => l.taskId)).toEqual([taken!.taskId]);
    expect(again[0]!.leaseId).not.toBe(taken!.leaseId);
    expect((await jobStatus(id)).counts).toMatchObject({ running: 1, pending: 0 });
  });

  it('releases the task of a volunteer whose network went silent, once the heartbeat misses', async () => {
    const h = await startTestCoordinator({ heartbeat: { intervalMs: 500, timeoutMs: 1000 } });
    const relay = await silentRelay(await h.listen());
    try {
      const site = await prepareVolunteering(h, 'primes');
      const job = await h.api('POST', '/jobs', { module: site.moduleHash, inputs: [u32pair(0, 100)] });
      const auth = (n: number) => ({ siteKey: site.siteKey, volunteerId: `silent-volunteer-${n}`, agent: 'node' });
      const relayed = connectClient(`${relay.url}/volunteer`, {
        transports: ['websocket'], reconnection: false, forceNew: true, auth: auth(1),
      });
      clients.push(relayed);
      await connected(relayed);
      const [taken] = leasesOf(await lease(relayed));
      expect(taken).toBeDefined();

      relay.silence();
      const wentSilent = Date.now();
      const other = connectClient(`${h.url}/volunteer`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: auth(2) });
      clients.push(other);
      await connected(other);
      let again: Lease[] = [];
      for (let i = 0; i < 250 && again.length === 0; i++) {
        again = leasesOf(await lease(other));
        if (again.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(again.map((l) => l.taskId)).toEqual([taken!.taskId]);
      // Noticed by the heartbeat (interval + timeout), not by the 30 s deadline.
      expect(Date.now() - wentSilent).toBeLessThan(5_000);
      const [line] = (await h.api('GET', `/jobs/${job.json().id}/results`)).body.trimEnd().split('\n').map((text) => JSON.parse(text));
      expect(line.errors.map((error: { kind: string }) => error.kind)).toEqual(['released']);
    } finally {
      relay.close();
      for (const client of clients.splice(0)) client.disconnect();
      await h.close();
    }
  });

  it('a volunteer whose dropped connection is not noticed yet names it on reconnecting: it is closed, and the new one adopts its leases', async () => {
    const relay = await silentRelay(c.url);
    try {
      const auth = { siteKey, volunteerId: 'volunteer-unnoticed-abcdef', agent: 'node' };
      const jobId = await createJob([[0, 100], [100, 200]]);
      const old = connectClient(`${relay.url}/volunteer`, { transports: ['websocket'], reconnection: false, forceNew: true, auth });
      clients.push(old);
      await connected(old);
      const held = leasesOf(await lease(old, { slots: 2 }));
      expect(held).toHaveLength(2);
      // The network drops packets: the coordinator still counts the old connection as up (its
      // heartbeat has 30 s), while the volunteer already knows it is gone.
      relay.silence();
      expect(c.scheduler.sessionsOnline()).toBe(1);
      const again = volunteer({ auth: { ...auth, resumes: old.id } });
      const adopted = adoptedNotice(again);
      await connected(again);
      expect(await adopted).toEqual(held.map((l) => l.leaseId).sort());
      // The coordinator closed the old connection: only the new one is counted.
      await expect.poll(() => c.scheduler.sessionsOnline(), { timeout: 2000 }).toBe(1);
      const answered = held.find((l) => l.taskId.endsWith(':0'))!;
      const output = Buffer.alloc(4);
      output.writeUInt32LE(countPrimesReference(0, 100), 0);
      expect(await send(again, 'result', { leaseId: answered.leaseId, output, cpuMs: 1 })).toEqual({ ok: true });
      // The other lease is the new connection's now: nothing released it when the old one closed,
      // and closing the new one releases it at once.
      expect((await jobStatus(jobId)).counts).toMatchObject({ completed: 1, running: 1 });
      again.disconnect();
      await expect.poll(async () => (await jobStatus(jobId)).counts, { timeout: 5000 }).toMatchObject({ completed: 1, pending: 1, running: 0 });
    } finally {
      relay.close();
    }
  });

  it('a reconnecting volunteer adopts only the leases it says it holds: the others go back at once, uncounted', async () => {
    const auth = { siteKey, volunteerId: 'volunteer-lost-reply-abcdef', agent: 'node' };
    const first = volunteer({ auth });
    await connected(first);
    const jobId = await createJob([[0, 100], [100, 200]]);
    const [kept, lost] = leasesOf(await lease(first, { slots: 2 }));
    // As after a restart: the first connection is gone without the store hearing of it. The
    // volunteer never got `lost` (its reply was lost with the connection), so it names `kept` only.
    await c.store.adoptLeases('volunteer-lost-reply-abcdef', 'session-of-a-dead-process', []);
    first.disconnect();
    const second = volunteer({ auth: { ...auth, holding: [kept!.leaseId] } });
    const adopted = adoptedNotice(second);
    await connected(second);
    expect(await adopted).toEqual([kept!.leaseId]);
    expect((await jobStatus(jobId)).counts).toMatchObject({ running: 1, pending: 1 });
    const lines = (await c.api('GET', `/jobs/${jobId}/results`)).body.trimEnd().split('\n').map((text) => JSON.parse(text));
    const line = lines.find((each: { index: number }) => each.index === Number(lost!.taskId.split(':').at(-1)));
    expect(line.errors.map((error: { kind: string }) => error.kind)).toEqual(['released']);
  });

  it('naming another volunteer\'s connection in `resumes` closes nothing and adopts nothing', async () => {
    await createJob([[0, 100]]);
    const victim = volunteer();
    await connected(victim);
    const [taken] = leasesOf(await lease(victim));
    const attacker = volunteer({ auth: { siteKey, volunteerId: 'volunteer-attacker-abcdef', agent: 'node', resumes: victim.id } });
    const adopted = adoptedNotice(attacker);
    await connected(attacker);
    expect(await adopted).toEqual([]);
    expect(victim.connected).toBe(true);
    const output = Buffer.alloc(4);
    output.writeUInt32LE(countPrimesReference(0, 100), 0);
    expect(await send(victim, 'result', { leaseId: taken!.leaseId, output, cpuMs: 1 })).toEqual({ ok: true });
  });

  it('a connection that closes while it is admitted ends its session: the leases it adopted go back', async () => {
    const volunteerId = 'volunteer-impatient-abcdef';
    const jobId = await createJob([[0, 100]]);
    const first = volunteer({ auth: { siteKey, volunteerId, agent: 'node' } });
    await connected(first);
    await lease(first);
    // Left by a process that no longer exists (as after a restart), so the next connection adopts it.
    await c.store.adoptLeases(volunteerId, 'session-of-a-dead-process', []);
    first.disconnect();
    // The next connection's admission is slow, and the volunteer leaves before it ends.
    const adoptLeases = c.store.adoptLeases.bind(c.store);
    let adopting!: () => void;
    const adoptionStarted = new Promise<void>((resolve) => (adopting = resolve));
    c.store.adoptLeases = async (...args) => {
      adopting();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return adoptLeases(...args);
    };
    const impatient = volunteer({ auth: { siteKey, volunteerId, agent: 'node' } });
    await adoptionStarted;
    impatient.disconnect();
    await expect.poll(async () => (await jobStatus(jobId)).counts, { timeout: 5000 }).toMatchObject({ running: 0, pending: 1 });
  });

  it('tells the volunteer to drop the work when the job is cancelled', async () => {
    const id = await createJob([[0, 10], [10, 20]]);
    const client = volunteer();
    await connected(client);
    const leases = leasesOf(await lease(client, { slots: 2 }));
    const revoked = new Promise<string[]>((resolve) => client.once('revoke', (notice: { leaseIds: string[] }) => resolve(notice.leaseIds)));
    expect((await c.api('POST', `/jobs/${id}/cancel`)).statusCode).toBe(200);
    expect((await revoked).sort()).toEqual(leases.map((l) => l.leaseId).sort());
  });

  it('tells an idle volunteer the moment work appears', async () => {
    const idle = volunteer();
    await connected(idle);
    expect(leasesOf(await lease(idle))).toEqual([]);
    const woken = new Promise<unknown>((resolve) => idle.once('work', resolve));
    await createJob([[0, 100]]);
    expect(await woken).toEqual({});
    expect(leasesOf(await lease(idle))).toHaveLength(1);
  });

  it('a volunteer reconnecting after a restart adopts its leases: the new connection answers or releases them', async () => {
    const auth = { siteKey, volunteerId: 'volunteer-restart-abcdef', agent: 'node' };
    const first = volunteer({ auth });
    await connected(first);
    const jobId = await createJob([[0, 100], [100, 200]]);
    const held = leasesOf(await lease(first, { slots: 2 }));
    expect(held).toHaveLength(2);
    // A restart loses connections without a disconnect the store hears of: model it by moving the
    // leases to a session of a process that no longer exists, then closing the first socket.
    await c.store.adoptLeases('volunteer-restart-abcdef', 'session-of-a-dead-process', []);
    first.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await jobStatus(jobId)).counts).toMatchObject({ running: 2, pending: 0 });

    const second = volunteer({ auth });
    const adopted = adoptedNotice(second);
    await connected(second);
    // It is told which leases it took over: keep running those.
    expect(await adopted).toEqual(held.map((l) => l.leaseId).sort());
    const output = Buffer.alloc(4);
    output.writeUInt32LE(countPrimesReference(0, 100), 0);
    const answered = held.find((l) => l.taskId.endsWith(':0'))!;
    expect(await send(second, 'result', { leaseId: answered.leaseId, output, cpuMs: 1 })).toEqual({ ok: true });
    // The other lease now belongs to the second connection: closing it releases the task at once.
    second.disconnect();
    await expect.poll(async () => (await jobStatus(jobId)).counts, { timeout: 5000 }).toMatchObject({ completed: 1, pending: 1, running: 0 });
  });

  it('a volunteer reconnecting to a coordinator that stayed up is told it adopted nothing: its old leases went back with the old connection', async () => {
    const auth = { siteKey, volunteerId: 'volunteer-blip-abcdef', agent: 'node' };
    const first = volunteer({ auth });
    expect(await Promise.all([adoptedNotice(first), connected(first)])).toEqual([[], undefined]);
    const jobId = await createJob([[0, 100]]);
    const [held] = leasesOf(await lease(first));
    // The transport drops without a goodbye (a network blip): the coordinator releases the lease.
    first.io.engine.close();
    await expect.poll(async () => (await jobStatus(jobId)).counts, { timeout: 5000 }).toMatchObject({ running: 0, pending: 1 });

    const second = volunteer({ auth });
    const adopted = adoptedNotice(second);
    await connected(second);
    expect(await adopted).toEqual([]);
    // What it would have finished for the old lease is not wanted any more.
    expect(await send(second, 'result', { leaseId: held!.leaseId, output: Buffer.alloc(4), cpuMs: 1 })).toMatchObject({ error: { code: 'stale_lease' } });
  });

  it('refuses browsers from another origin, and accepts the coordinator\'s own', async () => {
    const foreign = await refusal(volunteer({ origin: 'http://evil.example' }));
    expect(foreign.message).toMatch(/websocket error|origin/i);
    const own = volunteer({ origin: c.url });
    await connected(own);
    expect(own.connected).toBe(true);
  });

  it.each([
    [{ volunteerId: 'volunteer-abcdefgh', agent: 'node' }, /siteKey/],
    [{ siteKey: 'SITE', volunteerId: 'short', agent: 'node' }, /volunteerId/],
    [{ siteKey: 'SITE', volunteerId: 'volunteer-abcdefgh', agent: 'toaster' }, /agent/],
    [{ siteKey: 'SITE', volunteerId: 'volunteer-abcdefgh', agent: 'node', admin: true }, /unknown field at \/admin/],
    [{ siteKey: 'site_unknown', volunteerId: 'volunteer-abcdefgh', agent: 'node' }, /unknown site key site_unknown/],
  ])('refuses handshake auth %o', async (auth, message) => {
    const withKey = JSON.parse(JSON.stringify(auth).replace('"SITE"', JSON.stringify(siteKey)));
    const error = await refusal(volunteer({ auth: withKey }));
    expect(error.message).toMatch(message);
  });

  it('serves nothing on the main namespace', async () => {
    const client = connectClient(c.url, { transports: ['websocket'], reconnection: false, forceNew: true });
    clients.push(client);
    expect((await refusal(client)).message).toMatch(/\/volunteer/);
  });
});

describe('originAllowed', () => {
  it.each([
    [undefined, true],
    ['https://grid.example', true],
    ['HTTPS://Grid.Example', true],
    // The coordinator reached under another name (or a rebinding attacker's name) is refused.
    ['http://grid.example:8080', false],
    ['https://evil.example', false],
    ['https://grid.example:8443', false],
    ['null', false],
  ])('origin %s → %s', (origin, allowed) => {
    expect(originAllowed(origin, 'https://grid.example')).toBe(allowed);
  });
});

describe('releaseCause', () => {
  it.each([
    ['transport close', 'vanished'],
    ['ping timeout', 'vanished'],
    ['transport error', 'vanished'],
    ['client namespace disconnect', 'ended'],
    ['server namespace disconnect', 'ended'],
    ['server shutting down', 'ended'],
  ] as const)('%s → %s', (reason, cause) => {
    expect(releaseCause(reason)).toBe(cause);
  });
});
