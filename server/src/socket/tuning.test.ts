/**
 * The idle-connection tuning is in effect on a real coordinator: the handshake request is released
 * once a volunteer is admitted (and the handshake still answers), per-message deflate is refused
 * though the client offers it, long-polling is refused, ws found its native masking add-on, and a
 * grant's binary frames leave in one write.
 */
import { createRequire } from 'node:module';
import type { Socket as NetSocket } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connectClient, type Socket } from 'socket.io-client';
import type { LeaseReply } from '../protocol/events.ts';
import { prepareVolunteering, startTestCoordinator, type TestCoordinator } from '../http/testing.ts';

let c: TestCoordinator;
let siteKey: string;
let moduleHash: string;
const clients: Socket[] = [];

beforeAll(async () => {
  // A new volunteer may take a whole grant of 8 here.
  c = await startTestCoordinator({ quota: { initial: 64, max: 64 } });
  await c.listen();
  ({ siteKey, moduleHash } = await prepareVolunteering(c, 'primes'));
});

afterAll(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await c.close();
});

async function connectedVolunteer(): Promise<Socket> {
  const client = connectClient(`${c.url}/volunteer`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { siteKey, volunteerId: `tuning-volunteer-${clients.length}`, agent: 'node' },
  });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('connect_error', reject);
  });
  return client;
}

describe('idle-connection tuning', () => {
  it('releases the handshake request of an admitted volunteer and keeps what the handshake recorded', async () => {
    const client = await connectedVolunteer();
    const socket = c.volunteers.io.of('/volunteer').sockets.get(client.id ?? '');
    expect(socket).toBeDefined();
    expect(socket!.conn.request).toBeNull();
    expect(socket!.handshake.auth).toMatchObject({ siteKey, agent: 'node' });
    expect(socket!.handshake.address).toMatch(/127\.0\.0\.1$/);
    // The connection still works after the release: an event is answered.
    const reply = await client.timeout(5000).emitWithAck('lease', { slots: 1 });
    expect(reply).toMatchObject({ leases: [] });
  });

  it('refuses per-message deflate though the client offers it', async () => {
    const client = await connectedVolunteer();
    // socket.io-client on Node offers permessage-deflate by default; the negotiated set is empty.
    const ws = (client.io.engine.transport as unknown as { ws: { extensions: string } }).ws;
    expect(ws.extensions).toBe('');
    expect(c.volunteers.io.engine.opts.perMessageDeflate).toBe(false);
  });

  it('refuses long-polling (every client connects over WebSocket)', async () => {
    const response = await fetch(`${c.url}/socket.io/?EIO=4&transport=polling`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ message: 'Transport unknown' });
  });

  it('ws, as engine.io loads it, masks with the native bufferutil add-on', () => {
    const fromEngine = createRequire(createRequire(import.meta.url).resolve('engine.io'));
    const wsDir = dirname(fromEngine.resolve('ws/package.json'));
    const fromWs = createRequire(join(wsDir, 'index.js'));
    const native = fromWs('bufferutil') as { mask: unknown };
    expect(native.mask).not.toBe((fromWs('bufferutil/fallback') as { mask: unknown }).mask);
    // ws swaps its JavaScript mask for a wrapper around the add-on only when the add-on loaded.
    const wsBufferUtil = fromWs(join(wsDir, 'lib', 'buffer-util.js')) as { mask: (...args: unknown[]) => void };
    expect(wsBufferUtil.mask.toString()).toContain('bufferUtil.mask');
  });

  it('sends a grant of 8 leases, whose inputs are binary frames of their own, in at most 2 writes', async () => {
    const inputs = Array.from({ length: 8 }, (_, n) => Buffer.from([n, 1, 2, 3, 4, 5, 6, n]));
    const job = await c.api('POST', '/jobs', { module: moduleHash, inputs: inputs.map((bytes) => bytes.toString('base64')) });
    expect(job.statusCode).toBe(201);
    // The server's end of the next WebSocket (Node's `upgrade` event), and each write it hands the kernel.
    const upgraded = new Promise<NetSocket>((resolve) => c.app.server.once('upgrade', (_request, socket: NetSocket) => resolve(socket)));
    const client = await connectedVolunteer();
    const raw = (await upgraded) as NetSocket & { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
    let writes = 0;
    for (const method of ['_write', '_writev'] as const) {
      const original = raw[method].bind(raw);
      raw[method] = (...args: unknown[]) => {
        writes += 1;
        original(...args);
      };
    }
    const reply = (await client.timeout(5000).emitWithAck('lease', { slots: 8 })) as LeaseReply;
    const leases = 'leases' in reply ? reply.leases : [];
    expect(leases).toHaveLength(8);
    // Every input arrived whole, each with its own task.
    for (const lease of leases) {
      const idx = Number(lease.taskId.split(':').at(-1));
      expect(Buffer.from(lease.input)).toEqual(inputs[idx]);
    }
    // The reply's text frame, then its 8 binary frames together (engine.io waits for the first write).
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThanOrEqual(2);
  });
});
