/**
 * A child process of the throughput benchmark: the least a coordinator can do per result and
 * still keep the promise about results. A Socket.IO server on `/volunteer` over the real schema
 * (a real job, made by the store's own migrations and job creation, of the same tiny tasks) that
 * reads the job's open tasks a thousand at a time and grants them from memory, no write per
 * grant, and, for each result of a live lease granted on
 * the same connection, writes the task completed with its output and its place in the job's
 * completion order, acknowledging it only after the transaction holding it committed (group
 * commit: one transaction for what arrived during the previous one).
 *
 * Left out on purpose: validation, quorum, reputation, quotas, fairness, deadlines, lease rows,
 * restart adoption, every defence. What is left, any design on this transport and this database
 * pays, so its rate over the bare server's bounds what a coordinator can reach with these clients
 * on this machine.
 *
 * `FLOOR_WRITES` climbs the ladder towards the schema the coordinator writes (for the profile's
 * reading, not the figure): `claims` also marks each granted task leased in the transaction that
 * grants it (the grant acknowledged after its commit); `leases` also inserts a lease row per grant
 * and ends it at the result.
 */
import { createServer } from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Server } from 'socket.io';
import { createFloorDatabase, FLOOR_MODULE_HASH as MODULE } from './floor-database.ts';
import { encodePrimesInput } from '../wasm/tasks/primes/codec.ts';

const port = Number(process.env['PORT']);
const tasks = Number(process.env['TASKS'] ?? 60_000);
const dir = process.env['FLOOR_DIR'] ?? '.tmp/bench-floor';
const JOB = 'job-floor';

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const file = join(dir, 'db.sqlite');
await createFloorDatabase(
  file,
  JOB,
  Array.from({ length: tasks }, (_, i) => encodePrimesInput((i % 1000) * 20, (i % 1000) * 20 + 20)),
);

// The store's own settings: WAL, synchronous NORMAL (a commit survives a SIGKILL).
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
const pick = db.prepare(`select idx, input from tasks where job_id = ? and state = 'pending' and idx >= ? order by idx limit 1024`);
const complete = db.prepare(`update tasks set state = 'completed', live = 0, output = ?, settled_seq = ?, updated_at = ? where job_id = ? and idx = ?`);
const settle = db.prepare(`update jobs set settled_count = settled_count + ? where id = ?`);
const writesAtClaim = process.env['FLOOR_WRITES'] === 'claims' || process.env['FLOOR_WRITES'] === 'leases';
const leaseRows = process.env['FLOOR_WRITES'] === 'leases';
const markLeased = db.prepare(`update tasks set state = 'running', live = 1, attempts = attempts + 1, updated_at = ? where job_id = ? and idx = ?`);
const insertLease = db.prepare(
  `insert into leases (id, job_id, task_idx, volunteer_id, session_id, site_key, state, issued_at, deadline, address) values (?, ?, ?, ?, ?, 'site', 'active', ?, ?, '127.0.0.1')`,
);
const endLease = db.prepare(`update leases set state = 'completed', ended_at = ?, cpu_ms = 0, verdict = 'unchecked' where id = ?`);

/** Open tasks not yet granted, read a thousand at a time in index order. */
let fresh: { idx: number; input: Uint8Array }[] = [];
let nextIdx = 0;
function take(): { idx: number; input: Uint8Array } | undefined {
  if (fresh.length === 0) {
    fresh = (pick.all(JOB, nextIdx) as { idx: number; input: Uint8Array }[]).reverse();
    if (fresh.length > 0) nextIdx = fresh[0]!.idx + 1;
  }
  return fresh.pop();
}

/** Live leases: which task, granted on which connection. */
const leases = new Map<string, { idx: number; socketId: string }>();
let leaseCount = 0;
let settled = 0;

/** Grants and results waiting for the next transaction, and the acknowledgements waiting for its commit. */
let grants: { idx: number; leaseId: string; socketId: string }[] = [];
let writes: { idx: number; leaseId: string; output: Uint8Array }[] = [];
let acks: (() => void)[] = [];
let scheduled = false;

function commitWrites(): void {
  scheduled = false;
  const batch = writes;
  const granted = grants;
  const answered = acks;
  writes = [];
  grants = [];
  acks = [];
  const now = Date.now();
  db.transaction(() => {
    for (const { idx, leaseId, socketId } of granted) {
      markLeased.run(now, JOB, idx);
      if (leaseRows) insertLease.run(leaseId, JOB, idx, socketId, socketId, now, now + 60_000);
    }
    for (const { idx, leaseId, output } of batch) {
      if (leaseRows) endLease.run(now, leaseId);
      complete.run(output, ++settled, now, JOB, idx);
    }
    if (batch.length > 0) settle.run(batch.length, JOB);
  }).immediate();
  for (const ack of answered) ack();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(commitWrites);
}

type Answer = { leaseId?: unknown; output?: unknown };

/** The outcome of one answer: queued for the next commit, or refused at once. */
function answer(socketId: string, given: Answer | undefined): { ok: true } | { error: string } {
  const leaseId = typeof given?.leaseId === 'string' ? given.leaseId : '';
  const output = given?.output;
  const lease = leases.get(leaseId);
  if (!lease || lease.socketId !== socketId || !(output instanceof Uint8Array)) return { error: 'stale_lease' };
  leases.delete(leaseId);
  writes.push({ idx: lease.idx, leaseId, output });
  return { ok: true };
}

const http = createServer();
const io = new Server(http, { serveClient: false });
io.of('/volunteer').on('connection', (socket) => {
  socket.on('lease', (request: { slots?: unknown } | undefined, ack: unknown) => {
    if (typeof ack !== 'function') return;
    const granted: Record<string, unknown>[] = [];
    const slots = Math.min(64, Number(request?.slots) || 0);
    for (let n = 0; n < slots; n++) {
      const task = take();
      if (!task) break;
      const leaseId = `floor-${(leaseCount++).toString(36)}`;
      leases.set(leaseId, { idx: task.idx, socketId: socket.id });
      if (writesAtClaim) grants.push({ idx: task.idx, leaseId, socketId: socket.id });
      granted.push({
        leaseId,
        taskId: `${JOB}:${task.idx}`,
        job: { id: JOB, title: null, purpose: null },
        module: { hash: MODULE, url: `/modules/${MODULE}.wasm` },
        input: task.input,
        deadline: Date.now() + 60_000,
        limits: { timeMs: 60_000, maxMemoryBytes: 2 ** 28, maxOutputBytes: 2 ** 22 },
      });
    }
    if (!writesAtClaim) return ack({ leases: granted });
    acks.push(() => ack({ leases: granted }));
    schedule();
  });
  socket.on('result', (payload: Answer | undefined, ack: unknown) => {
    if (typeof ack !== 'function') return;
    const outcome = answer(socket.id, payload);
    if ('error' in outcome) return ack(outcome);
    acks.push(() => ack(outcome));
    schedule();
  });
  socket.on('results', (payload: { results?: unknown } | undefined, ack: unknown) => {
    if (typeof ack !== 'function') return;
    const outcomes = (Array.isArray(payload?.results) ? (payload.results as Answer[]) : []).map((one) => answer(socket.id, one));
    acks.push(() => ack({ outcomes }));
    schedule();
  });
});

http.listen(port, '127.0.0.1', () => process.send?.('listening'));
process.on('SIGTERM', () => {
  io.close();
  const count = db.prepare(`select count(*) as n from tasks where job_id = ? and state = ?`);
  const completed = (count.get(JOB, 'completed') as { n: number }).n;
  const pending = (count.get(JOB, 'pending') as { n: number }).n;
  // The parent checks that every acknowledged result was written, and that work never ran out.
  if (process.send) process.send({ completed, pending }, () => process.exit(0));
  else process.exit(0);
});
