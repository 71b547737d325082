/**
 * Group commit for the hot path. Claims, results and failures that arrive while the store is busy
 * wait in one queue and then run together in one transaction (`Store.answerBatch`): one commit for
 * many answers instead of one each, which is most of a result's cost on SQLite. Each caller's
 * promise settles only after the transaction holding its operation committed, so an acknowledged
 * result survives a SIGKILL. Nothing waits on a timer: the queue is flushed on the next turn of the
 * event loop after the previous transaction ends, so a lone request is as fast as before and a busy
 * store takes everything that queued behind it (up to `maxBatch`) at once.
 *
 * The store's other writes that touch leases (adoption, releases, expiry, cancel) queue in the
 * same line, alone, so a result sent before its connection closed is still recorded before the
 * connection's release, as it was without batching.
 */
import type { BatchOp, BatchResult, Store } from '../store/index.ts';

export interface GroupCommitOptions {
  /** Most operations in one transaction (default 256). */
  maxBatch?: number;
}

/** The store, with the hot path's verbs grouped into shared transactions. */
export interface GroupCommitStore extends Store {
  /** Resolves once everything queued before this call has settled. */
  drain(): Promise<void>;
}

type Entry =
  | { kind: 'batchable'; op: BatchOp; settle: (result: Promise<BatchResult>) => void }
  | { kind: 'alone'; run: () => Promise<void> };

/** Wraps `store`: same verbs, same results, fewer commits. */
export function withGroupCommit(store: Store, options: GroupCommitOptions = {}): GroupCommitStore {
  const maxBatch = Math.max(1, options.maxBatch ?? 256);
  const queue: Entry[] = [];
  let busy = false;

  function schedule(): void {
    if (busy || queue.length === 0) return;
    busy = true;
    // The next turn: socket data already read in this turn joins the batch.
    setImmediate(() => void flush());
  }

  async function flush(): Promise<void> {
    try {
      if (queue[0]!.kind === 'alone') {
        // Writes queued alone one after another, up to `maxBatch`, without a turn of the event loop
        // between them: with a turn each, 20,000 connections closing at once took 2.0 s instead of
        // 1.2 s. The cap lets socket I/O in between runs (better-sqlite3 answers synchronously).
        for (let ran = 0; ran < maxBatch && queue[0]?.kind === 'alone'; ran++) await (queue.shift() as Extract<Entry, { kind: 'alone' }>).run();
        return;
      }
      let count = 0;
      while (count < queue.length && count < maxBatch && queue[count]!.kind === 'batchable') count++;
      const batch = queue.splice(0, count) as Extract<Entry, { kind: 'batchable' }>[];
      await runBatch(batch);
    } finally {
      busy = false;
      schedule();
    }
  }

  async function runBatch(batch: Extract<Entry, { kind: 'batchable' }>[]): Promise<void> {
    if (batch.length === 1) {
      const only = batch[0]!;
      const single = runAlone(only.op);
      only.settle(single);
      await single.catch(() => undefined);
      return;
    }
    try {
      const results = await store.answerBatch(batch.map((entry) => entry.op));
      batch.forEach((entry, i) => entry.settle(Promise.resolve(results[i]!)));
    } catch {
      // Nothing of the batch took effect: each runs again alone, so one bad operation fails
      // only its own caller.
      for (const entry of batch) {
        const single = runAlone(entry.op);
        entry.settle(single);
        await single.catch(() => undefined);
      }
    }
  }

  function runAlone(op: BatchOp): Promise<BatchResult> {
    if (op.verb === 'claim') return store.claimTasks(op.request).then((outcome) => ({ verb: 'claim', outcome }));
    if (op.verb === 'complete') return store.completeLease(op.request).then((effects) => ({ verb: 'complete', effects }));
    return store.failLease(op.request).then((effects) => ({ verb: 'fail', effects }));
  }

  function enqueue(op: BatchOp): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      queue.push({ kind: 'batchable', op, settle: (result) => result.then(resolve, reject) });
      schedule();
    });
  }

  /** A write that runs in its own transaction, in line with the batches. */
  function inLine<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      queue.push({ kind: 'alone', run: () => run().then(resolve, reject) });
      schedule();
    });
  }

  const expect = <V extends BatchResult['verb']>(verb: V) => (result: BatchResult): Extract<BatchResult, { verb: V }> => {
    if (result.verb !== verb) throw new Error(`group commit: expected a ${verb} result, got ${result.verb}`);
    return result as Extract<BatchResult, { verb: V }>;
  };

  return {
    ...store,
    claimTasks: (request) => enqueue({ verb: 'claim', request }).then(expect('claim')).then((r) => r.outcome),
    completeLease: (request) => enqueue({ verb: 'complete', request }).then(expect('complete')).then((r) => r.effects),
    failLease: (request) => enqueue({ verb: 'fail', request }).then(expect('fail')).then((r) => r.effects),
    answerBatch: (ops) => inLine(() => store.answerBatch(ops)),
    adoptLeases: (...args) => inLine(() => store.adoptLeases(...args)),
    releaseSession: (...args) => inLine(() => store.releaseSession(...args)),
    releaseLeases: (...args) => inLine(() => store.releaseLeases(...args)),
    deferDeadlines: (...args) => inLine(() => store.deferDeadlines(...args)),
    expireLeases: (...args) => inLine(() => store.expireLeases(...args)),
    cancelJob: (...args) => inLine(() => store.cancelJob(...args)),
    drain: () => inLine(async () => undefined),
    async close() {
      await inLine(async () => undefined);
      await store.close();
    },
  };
}
