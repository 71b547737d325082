/**
 * The idle-connection tuning is in effect on a real coordinator: the handshake request is released
 * once a volunteer is admitted (and the handshake still answers), per-message deflate is refused
 * though the client offers it, long-polling is refused, and ws found its native masking add-on.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connectClient, type Socket } from 'socket.io-client';
import { prepareVolunteering, startTestCoordinator, type TestCoordinator } from '../http/testing.ts';

let c: TestCoordinator;
let siteKey: string;
const clients: Socket[] = [];

beforeAll(async () => {
  c = await startTestCoordinator();
  await c.listen();
  ({ siteKey } = await prepareVolunteering(c, 'primes'));
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
});
