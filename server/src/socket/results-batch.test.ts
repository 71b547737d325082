/**
 * The batched `results` event over a real Socket.IO connection to a test coordinator: grants
 * announce it, each result of a batch is judged as its own `result` would be (accepted, a repeat
 * acknowledged, another volunteer's lease stale), and malformed or oversized batches are refused
 * with a coded error while the connection stays up.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { io as connectClient, type Socket } from 'socket.io-client';
import { countPrimesReference } from '../../../wasm/tasks/primes/reference.ts';
import { MAX_RESULTS_PER_EVENT, type Lease, type LeaseGrant, type LeaseReply, type ResultsReply } from '../protocol/events.ts';
import { prepareVolunteering, startTestCoordinator, type TestCoordinator } from '../http/testing.ts';

let c: TestCoordinator;
let siteKey: string;
let moduleHash: string;
const clients: Socket[] = [];

beforeEach(async () => {
  c = await startTestCoordinator();
  await c.listen();
  ({ siteKey, moduleHash } = await prepareVolunteering(c, 'primes'));
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await c.close();
});

const range = (lo: number, hi: number): string => {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32LE(lo, 0);
  bytes.writeUInt32LE(hi, 4);
  return bytes.toString('base64');
};

let count = 0;
async function volunteer(): Promise<Socket> {
  const client = connectClient(`${c.url}/volunteer`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { siteKey, volunteerId: `batcher-${++count}-abcdef`, agent: 'node' },
  });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('connect_error', reject);
  });
  return client;
}

async function grant(client: Socket, slots: number): Promise<LeaseGrant> {
  const reply: LeaseReply = await client.timeout(5000).emitWithAck('lease', { slots, workers: slots });
  if ('error' in reply) throw new Error(reply.error.message);
  return reply;
}

const answer = (lease: Lease): { leaseId: string; output: Uint8Array; cpuMs: number } => {
  const input = Buffer.from(lease.input);
  const output = Buffer.alloc(4);
  output.writeUInt32LE(countPrimesReference(input.readUInt32LE(0), input.readUInt32LE(4)), 0);
  return { leaseId: lease.leaseId, output, cpuMs: 1 };
};

const sendResults = (client: Socket, payload: unknown): Promise<ResultsReply> => client.timeout(5000).emitWithAck('results', payload);

describe('/volunteer results (batched)', () => {
  it('judges each result of a batch as its own event would, and the job completes right', async () => {
    const job = await c.api('POST', '/jobs', { module: moduleHash, inputs: [range(0, 100), range(100, 200), range(200, 300), range(300, 400)] });
    const id = job.json().id as string;
    const alice = await volunteer();
    const bob = await volunteer();
    const first = await grant(alice, 2);
    expect(first.resultsBatch).toBe(MAX_RESULTS_PER_EVENT);
    const second = await grant(bob, 2);
    const [a1, a2] = first.leases.map(answer);
    const [b1] = second.leases.map(answer);

    expect(await sendResults(alice, { results: [a1, a2] })).toEqual({ outcomes: [{ ok: true }, { ok: true }] });
    // A repeat is acknowledged again; bob's lease answered by alice is fenced, bob's own is taken.
    const mixed = await sendResults(alice, { results: [a1, { ...b1!, output: Buffer.from([0, 0, 0, 0]) }] });
    expect(mixed).toEqual({ outcomes: [{ ok: true }, { error: { code: 'stale_lease', message: expect.any(String) } }] });
    expect(await sendResults(bob, { results: second.leases.map(answer) })).toEqual({ outcomes: [{ ok: true }, { ok: true }] });

    const status = (await c.api('GET', `/jobs/${id}`)).json();
    expect(status).toMatchObject({ state: 'completed', counts: { total: 4, completed: 4 } });
    const lines = (await c.api('GET', `/jobs/${id}/results`)).body.trimEnd().split('\n').map((line) => JSON.parse(line) as { index: number; output: string });
    for (const line of lines) {
      const expected = Buffer.alloc(4);
      expected.writeUInt32LE(countPrimesReference(line.index * 100, line.index * 100 + 100), 0);
      expect(line.output).toBe(expected.toString('base64'));
    }
  });

  it('refuses an empty, too long or malformed batch with bad_request and keeps the connection', async () => {
    const client = await volunteer();
    const item = { leaseId: 'nope', output: Buffer.from([1]), cpuMs: 1 };
    for (const payload of [{ results: [] }, { results: Array(MAX_RESULTS_PER_EVENT + 1).fill(item) }, { results: [{ leaseId: 'x' }] }, { results: [item], extra: 1 }]) {
      const reply = await sendResults(client, payload);
      expect(reply).toMatchObject({ error: { code: 'bad_request' } });
    }
    expect(await sendResults(client, { results: [item] })).toMatchObject({ outcomes: [{ error: { code: 'stale_lease' } }] });
    expect(client.connected).toBe(true);
  });
});
