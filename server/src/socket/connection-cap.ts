/**
 * Open volunteer connections per address (`addressKey`): past the cap, a handshake is refused
 * before any Socket.IO session exists. Counted by TCP socket (volunteers connect by WebSocket
 * only), from the handshake until the socket closes, so a handshake in progress counts too.
 */
import type { IncomingMessage } from 'node:http';
import { addressKey } from './address.ts';

export interface ConnectionCap {
  /** Admits `request`'s connection (counted until its socket closes), or says why not. */
  admit(request: IncomingMessage): { ok: true; address: string } | { ok: false; address: string; message: string };
  /** Open connections of `address` now. */
  count(address: string): number;
}

export function createConnectionCap(perAddress: number): ConnectionCap {
  const open = new Map<string, number>();
  const counted = new WeakSet<object>();
  return {
    admit(request) {
      const address = addressKey(request.socket.remoteAddress ?? 'unknown');
      if (counted.has(request.socket)) return { ok: true, address };
      const now = open.get(address) ?? 0;
      if (now >= perAddress) {
        return { ok: false, address, message: `too many connections from ${address} (at most ${perAddress}): close one first` };
      }
      open.set(address, now + 1);
      counted.add(request.socket);
      request.socket.once('close', () => {
        const left = (open.get(address) ?? 1) - 1;
        if (left > 0) open.set(address, left);
        else open.delete(address);
      });
      return { ok: true, address };
    },
    count: (address) => open.get(address) ?? 0,
  };
}
