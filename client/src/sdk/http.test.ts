/**
 * The SDK's one request function against a real HTTP server that resets connections the way a
 * server does when it closes a kept-alive connection just as the client reuses it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from './http.ts';
import { SpareCyclesError } from './index.ts';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server that resets the first `resets` requests' connections (TCP RST), then answers 200. */
async function resettingServer(resets: number): Promise<{ url: string; seen: () => number }> {
  let seen = 0;
  server = createServer((req, res) => {
    seen += 1;
    if (seen <= resets) {
      req.socket.resetAndDestroy();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: () => seen };
}

const transport = (url: string) => ({ url, key: 'k', fetch: globalThis.fetch.bind(globalThis) });

describe('request', () => {
  it('sends a GET once more after a connection reset, and then answers', async () => {
    const { url, seen } = await resettingServer(1);
    const response = await request(transport(url), '/jobs');
    expect(await response.json()).toEqual({ ok: true });
    expect(seen()).toBe(2);
  });

  it('gives up after a second reset with a network error naming the coordinator', async () => {
    const { url, seen } = await resettingServer(2);
    const error = await request(transport(url), '/jobs').catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(SpareCyclesError);
    expect((error as SpareCyclesError).code).toBe('network');
    expect((error as Error).message).toContain(url);
    expect(seen()).toBe(2);
  });

  it('never sends a POST twice: it may have been taken', async () => {
    const { url, seen } = await resettingServer(1);
    const error = await request(transport(url), '/jobs', { json: { module: 'm' } }).catch((thrown: unknown) => thrown);
    expect((error as SpareCyclesError).code).toBe('network');
    expect(seen()).toBe(1);
  });
});
