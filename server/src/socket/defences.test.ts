/**
 * The socket's defences against floods and oversize packets, each attack performed over real
 * Socket.IO against a real coordinator with small limits: rate-limited events, a flooding
 * connection closed, connections per address capped, oversize and binary payloads refused before
 * they are kept, refusals logged as summaries.
 */
import { request as httpRequest } from 'node:http';
import type { Socket as Socket_ } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { io as connectClient, type Socket } from 'socket.io-client';
import { MAX_RESULTS_PER_EVENT, type AckReply, type LeaseReply, type RateLimitedBody } from '../protocol/events.ts';
import type { Limits } from '../config.ts';
import { LEASE_COST } from './event-limiter.ts';
import { prepareVolunteering, startTestCoordinator, type TestCoordinator } from '../http/testing.ts';

let c: TestCoordinator;
let siteKey: string;
let moduleHash: string;
let logLines: string[];
const clients: Socket[] = [];

const LIMITS: Partial<Limits> = {
  socketEventsPerSecond: 10,
  socketEventBurst: 20,
  addressEventsPerSecond: 40,
  addressEventBurst: 60,
  socketFloodDisconnect: 30,
  connectionsPerAddress: 3,
};

/** A listening coordinator on `limits`, its log lines kept, with a site and the primes module. */
async function startWith(limits: Partial<Limits>): Promise<void> {
  c = await startTestCoordinator({ limits, logStream: { write: (line) => void logLines.push(line) } });
  await c.listen();
  ({ siteKey, moduleHash } = await prepareVolunteering(c, 'primes'));
}

beforeEach(async () => {
  logLines = [];
  await startWith(LIMITS);
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await c.close();
});

let count = 0;
function volunteer(from = '127.0.0.1'): Socket {
  const client = connectClient(`${c.url}/volunteer`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { siteKey, volunteerId: `defended-${++count}-abcdef`, agent: 'node' },
    // engine.io-client hands it to ws: the connection comes from this loopback address.
    ...({ localAddress: from } as object),
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

const closed = (client: Socket): Promise<string> => new Promise((resolve) => client.once('disconnect', (reason) => resolve(reason)));
const lease = (client: Socket, payload: unknown = { slots: 1 }): Promise<LeaseReply> => client.timeout(5000).emitWithAck('lease', payload);
const refusalLines = (): { kind: string; count: number }[] =>
  logLines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'volunteer socket refusals');

describe('rate limits', () => {
  it('answers events past the burst rate_limited with retryAfterMs, and other connections keep working', async () => {
    const flooder = volunteer();
    await connected(flooder);
    // No job: every lease request is answered empty, so none gives its token back.
    const replies = await Promise.all(Array.from({ length: 25 }, () => lease(flooder)));
    const limited = replies.filter((reply): reply is RateLimitedBody => 'error' in reply);
    // A lease costs LEASE_COST tokens of the burst of 20 (it runs a claim).
    expect(replies.filter((reply) => 'leases' in reply)).toHaveLength(Math.floor(20 / LEASE_COST));
    expect(limited.length).toBeGreaterThanOrEqual(1);
    for (const reply of limited) {
      expect(reply).toMatchObject({ error: { code: 'rate_limited', retryAfterMs: expect.any(Number) } });
      expect(reply.error.retryAfterMs).toBeGreaterThan(0);
    }
    expect(flooder.connected).toBe(true);
    const other = volunteer('127.0.0.2');
    await connected(other);
    expect(await lease(other)).toEqual({ leases: [], resultsBatch: MAX_RESULTS_PER_EVENT });
    // Waiting as told works.
    const wait = limited[0]!.error.retryAfterMs;
    await new Promise((resolve) => setTimeout(resolve, wait + 20));
    expect(await lease(flooder)).toEqual({ leases: [], resultsBatch: MAX_RESULTS_PER_EVENT });
  });

  it('never limits productive events: granted leases answered as fast as they come', async () => {
    const inputs = Array.from({ length: 120 }, (_, i) => {
      const bytes = Buffer.alloc(8);
      bytes.writeUInt32LE(i, 0);
      bytes.writeUInt32LE(i + 1, 4);
      return bytes.toString('base64');
    });
    const job = (await c.api('POST', '/jobs', { module: moduleHash, inputs })).json().id;
    const client = volunteer();
    await connected(client);
    let done = 0;
    while (done < inputs.length) {
      const reply = await lease(client, { slots: 10, workers: 5 });
      if ('error' in reply) throw new Error(reply.error.message);
      const acks = await Promise.all(
        reply.leases.map((l) => client.timeout(5000).emitWithAck('result', { leaseId: l.leaseId, output: Buffer.alloc(4), cpuMs: 1 }) as Promise<AckReply>),
      );
      expect(acks.every((ack) => 'ok' in ack)).toBe(true);
      done += reply.leases.length;
    }
    // 120 results and a dozen lease requests, far past the burst of 20: none was refused.
    expect((await c.api('GET', `/jobs/${job}`)).json()).toMatchObject({ counts: { completed: 120 } });
  });

  it('lets an owed answer through with the allowance spent, once: a repeat of it pays like any event', async () => {
    const input = Buffer.alloc(8);
    input.writeUInt32LE(10, 0);
    input.writeUInt32LE(20, 4);
    await c.api('POST', '/jobs', { module: moduleHash, inputs: [input.toString('base64'), input.toString('base64')] });
    const client = volunteer();
    await connected(client);
    const granted = await lease(client, { slots: 2, workers: 1 });
    if ('error' in granted) throw new Error(granted.error.message);
    expect(granted.leases).toHaveLength(2);
    // Spend the connection's allowance on reports for made-up leases until one is refused.
    let refused: AckReply | undefined;
    for (let i = 0; i < 30 && !refused; i++) {
      const reply: AckReply = await client.timeout(5000).emitWithAck('fail', { leaseId: `made-up-${i}`, kind: 'trap', message: 'x' });
      if ('error' in reply && reply.error.code === 'rate_limited') refused = reply;
    }
    expect(refused).toBeDefined();
    const answer = (leaseId: string): Promise<AckReply> => client.timeout(5000).emitWithAck('result', { leaseId, output: Buffer.from([4, 0, 0, 0]), cpuMs: 1 });
    expect(await answer(granted.leases[0]!.leaseId)).toEqual({ ok: true });
    expect(await answer(granted.leases[1]!.leaseId)).toEqual({ ok: true });
    expect(await answer(granted.leases[0]!.leaseId)).toMatchObject({ error: { code: 'rate_limited' } });
  });

  it('closes a connection that keeps flooding, and logs summaries instead of a line per event', async () => {
    const flooder = volunteer();
    await connected(flooder);
    const gone = closed(flooder);
    for (let i = 0; i < 2000; i++) flooder.emit('lease', { slots: 128, workers: 64 });
    expect(await gone).toBe('io server disconnect');
    // One line at the first refusal; the rest wait for the interval's end (or the shutdown).
    expect(refusalLines().length).toBeLessThanOrEqual(2);
    await c.volunteers.close();
    const lines = refusalLines();
    expect(lines.length).toBeLessThanOrEqual(4);
    expect(lines.map((line) => line.kind)).toEqual(expect.arrayContaining(['rate_limited', 'flood: connection closed']));
    expect(lines.reduce((sum, line) => sum + line.count, 0)).toBeGreaterThan(30);
  });

  it('counts events without acknowledgement against the rate, logging them as one summary', async () => {
    const client = volunteer();
    await connected(client);
    const gone = closed(client);
    for (let i = 0; i < 10_000; i++) client.emit('fail', { leaseId: 'x', kind: 'trap', message: 'm' });
    expect(await gone).toBe('io server disconnect');
    expect(refusalLines().length).toBeLessThanOrEqual(4);
  });
});

describe('a flooder closed', () => {
  it('is read no further: what it sent after its disconnect stays unread until the connection is cut', async () => {
    const serverSockets: Socket_[] = [];
    c.app.server.on('connection', (socket: Socket_) => serverSockets.push(socket));
    const client = volunteer();
    await connected(client);
    const gone = closed(client);
    // 10,000 events of about 400 bytes: 4 MB queued towards the coordinator at once.
    const message = 'm'.repeat(300);
    for (let i = 0; i < 10_000; i++) client.emit('fail', { leaseId: `x${i}`, kind: 'trap', message });
    expect(await gone).toBe('io server disconnect');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const read = Math.max(...serverSockets.map((socket) => socket.bytesRead));
    // A graceful close reads (and parses) everything until the flooder's close frame: all 4 MB.
    expect(read).toBeLessThan(1_500_000);
  });
});

describe('connections per address', () => {
  it('refuses a handshake past the cap with a clear error, and admits again once one closes', async () => {
    const open = [volunteer(), volunteer(), volunteer()];
    await Promise.all(open.map(connected));
    // What a refused client is told: the handshake's answer names the cap.
    const refusal = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${c.url}/socket.io/?EIO=4&transport=websocket`, {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      });
      request.on('response', (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('upgrade', () => reject(new Error('upgraded past the cap')));
      request.on('error', reject);
      request.end();
    });
    expect(refusal.status).toBe(400);
    expect(refusal.body).toMatch(/too many connections from 127\.0\.0\.1 \(at most 3\)/);
    await expect(connected(volunteer())).rejects.toThrow(/websocket error/);
    // Another address is counted apart.
    await connected(volunteer('127.0.0.3'));
    open[0]!.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await connected(volunteer());
    expect(refusalLines().map((line) => line.kind)).toContain('too many connections');
  });
});

describe('packet sizes', () => {
  it('refuses an oversize lease or fail from its text frame, and binary where none belongs, keeping the connection', async () => {
    const client = volunteer();
    await connected(client);
    // Under maxHttpBufferSize (128 KiB here), far over a lease's limit (about 17 KiB).
    const huge = { slots: 1, cached: Array<string>(1500).fill('a'.repeat(64)) };
    expect(await lease(client, huge)).toMatchObject({ error: { code: 'payload_too_large', message: expect.stringMatching(/lease: packet of \d+ characters exceeds its limit/) } });
    const longFail = await client.timeout(5000).emitWithAck('fail', { leaseId: 'x', kind: 'trap', message: 'm'.repeat(100_000) });
    expect(longFail).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(await lease(client, { slots: 1, cached: [Buffer.alloc(60_000)] })).toMatchObject({ error: { code: 'bad_request', message: /lease: expected no binary data, got 1/ } });
    const twoOutputs = await client.timeout(5000).emitWithAck('result', { leaseId: 'x', output: Buffer.alloc(8), cpuMs: Buffer.alloc(8) });
    expect(twoOutputs).toMatchObject({ error: { code: 'bad_request', message: /result: expected at most 1 binary value, got 2/ } });
    expect(await lease(client)).toEqual({ leases: [], resultsBatch: MAX_RESULTS_PER_EVENT });
    expect(client.connected).toBe(true);
    expect(c.volunteers.heldResultBytes()).toBe(0);
  });

  it('closes a connection sending a message over maxHttpBufferSize while it arrives', async () => {
    const client = volunteer();
    await connected(client);
    const gone = closed(client);
    client.emit('result', { leaseId: 'x', output: Buffer.alloc(64 * 1024 + 64 * 1024 + 1), cpuMs: 1 }, () => {});
    expect(await gone).toBe('transport close');
  });

  it('answers a result for a made-up lease as stale and holds none of its bytes afterwards', async () => {
    const client = volunteer();
    await connected(client);
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => client.timeout(5000).emitWithAck('result', { leaseId: 'made-up', output: Buffer.alloc(60_000), cpuMs: 1 }) as Promise<AckReply>),
    );
    for (const reply of replies) expect(reply).toMatchObject({ error: { code: expect.stringMatching(/^(stale_lease|rate_limited)$/) } });
    expect(c.volunteers.heldResultBytes()).toBe(0);
  });

  it('closes a connection whose output for an ungranted lease comes while the gate is shut, unread; granted results still pass', async () => {
    await c.close();
    await startWith({ ...LIMITS, ungrantedResultBytesPerSecond: 64 * 1024 });
    const input = Buffer.alloc(8);
    input.writeUInt32LE(10, 0);
    input.writeUInt32LE(20, 4);
    await c.api('POST', '/jobs', { module: moduleHash, inputs: [input.toString('base64')] });
    const honest = volunteer();
    await connected(honest);
    const granted = await lease(honest, { slots: 1, workers: 1 });
    if ('error' in granted) throw new Error(granted.error.message);
    const serverSockets: Socket_[] = [];
    c.app.server.on('connection', (socket: Socket_) => serverSockets.push(socket));
    const attacker = volunteer('127.0.0.2');
    await connected(attacker);
    const gone = closed(attacker);
    // 20 outputs of 60 kB for made-up leases, 1.2 MB in all, where the gate takes 64 KiB a second.
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (attacker.timeout(5000).emitWithAck('result', { leaseId: `made-up-${i}`, output: Buffer.alloc(60_000), cpuMs: 1 }) as Promise<AckReply>).then(
          (reply) => ('error' in reply ? reply.error.code : 'ok'),
          () => 'unanswered',
        ),
      ),
    );
    expect(await gone).toBe('transport close');
    // The first outputs pass the gate and are answered as stale (the second's answer may be cut
    // off by the close); the first one past the gate closes the connection.
    expect(replies[0]).toBe('stale_lease');
    expect(replies.slice(1, 3).every((reply) => reply === 'stale_lease' || reply === 'unanswered')).toBe(true);
    expect(replies.slice(3)).toEqual(Array(17).fill('unanswered'));
    expect(serverSockets.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...serverSockets.map((socket) => socket.bytesRead))).toBeLessThan(400_000);
    // The gate is still shut, and a result for a lease granted on its connection passes it.
    expect(await honest.timeout(5000).emitWithAck('result', { leaseId: granted.leases[0]!.leaseId, output: Buffer.from([4, 0, 0, 0]), cpuMs: 1 })).toEqual({ ok: true });
    expect(c.volunteers.heldResultBytes()).toBe(0);
  });

  it('gives back the room a malformed result took at the gate', async () => {
    await c.close();
    // Room at the gate for one output at a time: 128 KiB, the largest message here.
    await startWith({ ...LIMITS, socketInflightBytes: 256 * 1024 });
    for (let i = 0; i < 3; i++) {
      const broken = volunteer();
      await connected(broken);
      const gone = closed(broken);
      // A binary result whose JSON never ends: the parser refuses it after the gate let it in.
      (broken.io.engine as unknown as { write(data: string): void }).write('51-/volunteer,1["result",{');
      expect(await gone).toBe('transport close');
    }
    const client = volunteer();
    await connected(client);
    const reply: AckReply = await client.timeout(5000).emitWithAck('result', { leaseId: 'made-up', output: Buffer.alloc(1000), cpuMs: 1 });
    expect(reply).toMatchObject({ error: { code: 'stale_lease' } });
    expect(client.connected).toBe(true);
  });
});
