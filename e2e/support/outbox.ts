/**
 * Raw IndexedDB access to the runtime's outbox from inside the embed's frame (the coordinator's
 * origin, partitioned per embedding site), as a previous page of the same site would have left it.
 * Nothing here uses the product's code: the browser's own IndexedDB API only.
 */
import { expect, type Frame, type Page, type WebSocket } from '@playwright/test';

const DB_NAME = 'sparecycles';

/** An outbox entry as a test writes it (bytes as numbers, to cross `evaluate`). */
export type RawOutboxEntry =
  | { kind: 'result'; payload: { leaseId: string; output: number[]; cpuMs: number } }
  | { kind: 'fail'; payload: { leaseId: string; kind: 'trap' | 'timeout' | 'memory' | 'invalid'; message: string } };

/** What the frame's `outbox` store holds, outputs described by their type and bytes. */
export interface StoredOutboxEntry {
  kind: string;
  leaseId: string;
  outputType?: string;
  output?: number[];
}

/** The embed's frame of `page`, once it is there. */
export async function frameOf(page: Page): Promise<Frame> {
  await expect.poll(() => page.frames().some((frame) => frame.url().includes('/frame?site='))).toBe(true);
  return page.frames().find((frame) => frame.url().includes('/frame?site=')) as Frame;
}

/** Waits until the runtime has created its database at `version` (so the test never creates it). */
export async function waitForRuntimeDb(frame: Frame, version: number): Promise<void> {
  await expect
    .poll(() =>
      frame.evaluate(
        async ({ name }) => (await indexedDB.databases()).find((db) => db.name === name)?.version ?? 0,
        { name: DB_NAME },
      ),
    )
    .toBe(version);
}

/**
 * Creates the runtime's database as version 1 of the runtime left it (`modules` and `meta`, with
 * a volunteer id), for an upgrade test; the frame must not have opened it yet.
 */
export async function createVersion1Db(frame: Frame, volunteerId: string): Promise<void> {
  await frame.evaluate(
    async ({ name, volunteerId }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name, 1);
        request.onupgradeneeded = () => {
          request.result.createObjectStore('modules', { keyPath: 'hash' });
          request.result.createObjectStore('meta').put(volunteerId, 'volunteerId');
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      db.close();
    },
    { name: DB_NAME, volunteerId },
  );
}

/**
 * Opens the runtime's database at version 1 and keeps the connection open, deaf to upgrade
 * requests, as a version-1 page in another tab would.
 */
export async function holdVersion1Db(frame: Frame): Promise<void> {
  await frame.evaluate(
    async ({ name }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name, 1);
        request.onupgradeneeded = () => {
          request.result.createObjectStore('modules', { keyPath: 'hash' });
          request.result.createObjectStore('meta');
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      (globalThis as { heldDb?: IDBDatabase }).heldDb = db;
    },
    { name: DB_NAME },
  );
}

/** The database's store names and its stored volunteer id. */
export function describeRuntimeDb(frame: Frame): Promise<{ version: number; stores: string[]; volunteerId: unknown }> {
  return frame.evaluate(
    async ({ name }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      try {
        const request = db.transaction('meta').objectStore('meta').get('volunteerId');
        const volunteerId = await new Promise<unknown>((resolve, reject) => {
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        return { version: db.version, stores: [...db.objectStoreNames].sort(), volunteerId };
      } finally {
        db.close();
      }
    },
    { name: DB_NAME },
  );
}

/** Puts entries into the `outbox` store, bytes as `Uint8Array`, as the runtime stores them. */
export async function putOutboxEntries(frame: Frame, entries: RawOutboxEntry[]): Promise<void> {
  await frame.evaluate(
    async ({ name, entries }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      try {
        const tx = db.transaction('outbox', 'readwrite');
        for (const entry of entries) {
          tx.objectStore('outbox').put(
            entry.kind === 'result'
              ? { kind: 'result', payload: { ...entry.payload, output: new Uint8Array(entry.payload.output) } }
              : entry,
          );
        }
        await new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        });
      } finally {
        db.close();
      }
    },
    { name: DB_NAME, entries },
  );
}

/** Reads the `outbox` store back: each entry's kind, lease id and, for results, output type and bytes. */
export function readOutbox(frame: Frame): Promise<StoredOutboxEntry[]> {
  return frame.evaluate(
    async ({ name }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      try {
        const request = db.transaction('outbox').objectStore('outbox').getAll();
        const values = await new Promise<{ kind: string; payload: { leaseId: string; output?: unknown } }[]>((resolve, reject) => {
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        return values.map(({ kind, payload }) => {
          const output = payload.output;
          if (output === undefined) return { kind, leaseId: payload.leaseId };
          const outputType = Object.prototype.toString.call(output);
          const bytes = output instanceof Uint8Array ? Array.from(output) : [];
          return { kind, leaseId: payload.leaseId, outputType, output: bytes };
        });
      } finally {
        db.close();
      }
    },
    { name: DB_NAME },
  );
}

/** Every frame a page's WebSockets send and receive, by socket, in order. */
export interface SocketFrames {
  sockets: { url: string; sent: (string | Buffer)[]; received: (string | Buffer)[] }[];
}

export function recordSocketFrames(page: Page): SocketFrames {
  const log: SocketFrames = { sockets: [] };
  page.on('websocket', (socket: WebSocket) => {
    const entry = { url: socket.url(), sent: [] as (string | Buffer)[], received: [] as (string | Buffer)[] };
    log.sockets.push(entry);
    socket.on('framesent', (frame) => entry.sent.push(frame.payload));
    socket.on('framereceived', (frame) => entry.received.push(frame.payload));
  });
  return log;
}
