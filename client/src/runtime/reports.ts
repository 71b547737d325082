/**
 * The loop's reports on their way to the coordinator: each result or failure goes to the outbox
 * first and leaves it only once the coordinator has answered for it (accepted, stale or refused
 * for good); a lost connection keeps it. `flush` sends every unanswered report, including entries
 * a previous page or process left in a durable outbox.
 *
 * A result the loop says to hold (report-hold.ts: a tiny task with more leases in hand) waits,
 * stored, until a report that is not held goes, `release` is called, or `lingerMs` passes; then
 * they go in the same turn, so the link can carry them in one event.
 */
import type { AckReply, FailRequest, ResultRequest } from '../../../server/src/protocol/events.ts';
import type { ErrorCode } from '../../../server/src/protocol/errors.ts';
import type { Outbox, OutboxEntry } from './outbox.ts';
import type { Timers } from './timers.ts';

/** How the coordinator answered for a report, once it did. */
export type ReportVerdict = 'completed' | 'failed' | 'dropped';

/** The part of the coordinator link reports travel on. */
export interface ReportLink {
  connected(): boolean;
  result(request: ResultRequest): Promise<AckReply>;
  fail(request: FailRequest): Promise<AckReply>;
}

export interface ReportsOptions {
  link: ReportLink;
  outbox: Outbox;
  timers: Timers;
  /** The wait before sending again after a retryable refusal or a lost acknowledgement. */
  retryDelay(): number;
  /** The coordinator answered for `entry` (or the report was withdrawn). */
  onSettled(entry: OutboxEntry, verdict: ReportVerdict | 'withdrawn'): void;
  /** The set of unanswered reports changed in some other way (an outbox listing added some). */
  onChange(): void;
  onError(error: unknown): void;
  /** Every report sent has been answered (or failed), and none is held back. */
  onQuiet?(): void;
  /** Whether a stored result should wait for others (default: never). */
  hold?(entry: OutboxEntry): boolean;
  /** The longest a held result waits, in ms. */
  lingerMs?: number;
}

export interface Reports {
  /** Stores `entry` and sends it. */
  add(entry: OutboxEntry): void;
  /** Sends every unanswered report, this run's and any the outbox kept from before. */
  flush(): void;
  /** Reports held back or sent and not yet answered: answers that will free leases soon. */
  awaiting(): number;
  /** Sends the held results now. */
  release(): void;
  /** Forgets the report for a lease nobody wants any more (revoked). */
  withdraw(leaseId: string): void;
  has(leaseId: string): boolean;
  /** Lease ids of the reports not yet answered for. */
  pending(): string[];
  stop(): void;
}

/** Acknowledgement errors worth sending the same report again for. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['internal', 'rate_limited']);

export function createReports(options: ReportsOptions): Reports {
  const { link, outbox, timers, onError } = options;
  // Reports not yet answered for, kept in memory too: an outbox that failed to store or to list
  // one must not lose it.
  const unsent = new Map<string, OutboxEntry>();
  const sending = new Set<string>();
  // Reports settled while an outbox listing is in flight: that listing may still hold them.
  const settledWhileListing = new Set<string>();
  let listing = 0;
  let retryTimer: unknown;
  let stopped = false;
  // Stored results held back to travel with the next ones, and the timer that bounds the wait.
  const held = new Map<string, OutboxEntry>();
  let lingerTimer: unknown;

  function settle(entry: OutboxEntry, verdict: ReportVerdict | 'withdrawn'): void {
    const { leaseId } = entry.payload;
    unsent.delete(leaseId);
    if (listing > 0) settledWhileListing.add(leaseId);
    outbox.delete(leaseId).catch(onError);
    options.onSettled(entry, verdict);
  }

  function send(entry: OutboxEntry): void {
    const { leaseId } = entry.payload;
    if (stopped || sending.has(leaseId) || !unsent.has(leaseId) || !link.connected()) return;
    sending.add(leaseId);
    const reply = entry.kind === 'result' ? link.result(entry.payload) : link.fail(entry.payload);
    reply.then(
      (ack) => {
        sending.delete(leaseId);
        quiet();
        if (stopped || !unsent.has(leaseId)) return;
        if (!('error' in ack)) {
          settle(entry, entry.kind === 'result' ? 'completed' : 'failed');
        } else if (RETRYABLE.has(ack.error.code)) {
          retryLater();
        } else {
          // `stale_lease`: the task was taken back or finished elsewhere. Anything else refused
          // this report for good; sending it again cannot change the answer.
          if (ack.error.code !== 'stale_lease') onError(new Error(`${entry.kind} refused: ${ack.error.code}: ${ack.error.message}`));
          settle(entry, 'dropped');
        }
      },
      (error: unknown) => {
        sending.delete(leaseId);
        quiet();
        onError(error);
        // A lost connection resends on reconnect; a slow coordinator gets another try soon.
        if (link.connected()) retryLater();
      },
    );
  }

  /** Tells the loop, after this turn's answers are handled, that no answer is awaited any more. */
  function quiet(): void {
    if (sending.size === 0 && held.size === 0 && options.onQuiet) queueMicrotask(options.onQuiet);
  }

  /** Sends a stored report, or holds it back when the loop says so. */
  function sendOrHold(entry: OutboxEntry): void {
    if (!stopped && entry.kind === 'result' && options.hold?.(entry)) {
      held.set(entry.payload.leaseId, entry);
      if (lingerTimer === undefined) lingerTimer = timers.setTimeout(release, options.lingerMs ?? 0);
      return;
    }
    release();
    send(entry);
  }

  function release(): void {
    if (lingerTimer !== undefined) timers.clearTimeout(lingerTimer);
    lingerTimer = undefined;
    const entries = [...held.values()];
    held.clear();
    for (const entry of entries) send(entry);
  }

  function retryLater(): void {
    if (retryTimer !== undefined || stopped) return;
    retryTimer = timers.setTimeout(() => {
      retryTimer = undefined;
      flush();
    }, options.retryDelay());
  }

  function flush(): void {
    listing += 1;
    outbox
      .list()
      .then((entries) => {
        for (const entry of entries) {
          const { leaseId } = entry.payload;
          // Entries from before this run are unsent too, though this loop never ran them.
          if (!settledWhileListing.has(leaseId) && !unsent.has(leaseId)) unsent.set(leaseId, entry);
        }
      }, onError)
      .finally(() => {
        listing -= 1;
        if (listing === 0) settledWhileListing.clear();
        // Everything goes now, held results included.
        release();
        for (const entry of unsent.values()) send(entry);
        options.onChange();
      });
  }

  return {
    add(entry) {
      unsent.set(entry.payload.leaseId, entry);
      options.onChange();
      outbox.put(entry).then(
        () => sendOrHold(entry),
        (error: unknown) => {
          onError(error);
          sendOrHold(entry);
        },
      );
    },
    flush,
    release,
    withdraw(leaseId) {
      held.delete(leaseId);
      const entry = unsent.get(leaseId);
      if (entry) settle(entry, 'withdrawn');
    },
    has: (leaseId) => unsent.has(leaseId),
    awaiting: () => sending.size + held.size,
    pending: () => [...unsent.keys()],
    stop() {
      stopped = true;
      if (retryTimer !== undefined) timers.clearTimeout(retryTimer);
      retryTimer = undefined;
      if (lingerTimer !== undefined) timers.clearTimeout(lingerTimer);
      lingerTimer = undefined;
      held.clear();
    },
  };
}
