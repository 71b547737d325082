/**
 * Results that are sent in the same turn (several workers finishing together, the outbox sent
 * again on reconnect) travel together in one `results` event, once the coordinator has said in a
 * lease grant that it takes them (`resultsBatch`); otherwise, and for a result alone, each goes in
 * its own `result` event. Every caller still gets its own acknowledgement.
 */
import type { AckReply, ResultRequest, ResultsReply } from '../../../server/src/protocol/events.ts';

export interface ResultBatchesOptions {
  sendOne(request: ResultRequest): Promise<AckReply>;
  sendMany(requests: ResultRequest[]): Promise<ResultsReply>;
}

export interface ResultBatches {
  /** Sends a result, alone or with others of this turn; resolves with its own acknowledgement. */
  send(request: ResultRequest): Promise<AckReply>;
  /**
   * What the coordinator takes: at most `items` results per event, outputs together at most
   * `bytes`; `items` below 2 (or never told, or a new connection) sends each result alone.
   */
  configure(items: number, bytes: number): void;
}

interface Waiting {
  request: ResultRequest;
  resolve(reply: AckReply): void;
  reject(error: unknown): void;
}

/** Splits `waiting` in send order into groups within both bounds (an oversized output goes alone). */
export function groupResults<T extends { request: ResultRequest }>(waiting: readonly T[], items: number, bytes: number): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let size = 0;
  for (const entry of waiting) {
    const length = entry.request.output.byteLength;
    if (group.length > 0 && (group.length >= items || size + length > bytes)) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(entry);
    size += length;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

export function createResultBatches(options: ResultBatchesOptions): ResultBatches {
  let items = 0;
  let bytes = 0;
  let waiting: Waiting[] = [];

  function sendGroup(group: Waiting[]): void {
    if (group.length === 1) {
      const [only] = group as [Waiting];
      options.sendOne(only.request).then(only.resolve, only.reject);
      return;
    }
    options.sendMany(group.map((entry) => entry.request)).then(
      (reply) => {
        group.forEach((entry, i) => {
          if ('error' in reply) entry.resolve(reply);
          else entry.resolve(reply.outcomes[i] ?? { error: { code: 'internal', message: 'the coordinator answered fewer results than were sent' } });
        });
      },
      (error: unknown) => group.forEach((entry) => entry.reject(error)),
    );
  }

  function flush(): void {
    const all = waiting;
    waiting = [];
    for (const group of groupResults(all, items, bytes)) sendGroup(group);
  }

  return {
    send(request) {
      if (items < 2) return options.sendOne(request);
      return new Promise<AckReply>((resolve, reject) => {
        if (waiting.length === 0) queueMicrotask(flush);
        waiting.push({ request, resolve, reject });
      });
    },
    configure(nextItems, nextBytes) {
      items = nextItems;
      bytes = nextBytes;
    },
  };
}
