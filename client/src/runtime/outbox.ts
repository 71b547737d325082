/**
 * Finished work waiting for the coordinator's acknowledgement. An entry leaves the outbox only
 * when the coordinator answered for it (accepted, or told us the lease is stale), so a result
 * survives a dropped connection and is sent again on reconnect. The IndexedDB outbox also
 * survives a reload or a coordinator crash: the next page sends what this one could not.
 */
import type { RuntimeDb } from './db.ts';
import type { OutboxEntry } from './outbox-entry.ts';

export type { OutboxEntry } from './outbox-entry.ts';

/** Where unacknowledged reports wait, keyed by lease id (a second `put` for one lease replaces the first). */
export interface Outbox {
  put(entry: OutboxEntry): Promise<void>;
  delete(leaseId: string): Promise<void>;
  list(): Promise<OutboxEntry[]>;
}

/** An outbox that lives as long as the page or process. */
export function createMemoryOutbox(): Outbox {
  const entries = new Map<string, OutboxEntry>();
  return {
    put: async (entry) => void entries.set(entry.payload.leaseId, entry),
    delete: async (leaseId) => void entries.delete(leaseId),
    list: async () => [...entries.values()],
  };
}

/**
 * An outbox in the runtime database's `outbox` store. Outputs are stored as `Uint8Array`s (the
 * structured clone keeps the type and the bytes) and come back as the exact bytes, copied out of
 * any larger buffer on the way in, so a view into a worker's memory stores only its own bytes.
 */
export function createIdbOutbox(db: RuntimeDb): Outbox {
  return {
    put: async (entry) => void (await db.put('outbox', stored(entry))),
    delete: (leaseId) => db.delete('outbox', leaseId),
    list: async () => (await db.getAll('outbox')).map(loaded),
  };
}

function stored(entry: OutboxEntry): OutboxEntry {
  if (entry.kind === 'fail') return entry;
  const { output } = entry.payload;
  if (output.byteOffset === 0 && output.byteLength === output.buffer.byteLength && output.constructor === Uint8Array) return entry;
  return { kind: 'result', payload: { ...entry.payload, output: Uint8Array.from(output) } };
}

/** A `Buffer` or other view written by an older or foreign writer still reads back as plain bytes. */
function loaded(entry: OutboxEntry): OutboxEntry {
  if (entry.kind === 'fail' || entry.payload.output.constructor === Uint8Array) return entry;
  const output: unknown = entry.payload.output;
  const bytes = ArrayBuffer.isView(output)
    ? new Uint8Array(output.buffer, output.byteOffset, output.byteLength)
    : new Uint8Array(output as ArrayBuffer);
  return { kind: 'result', payload: { ...entry.payload, output: bytes } };
}
