/**
 * Streaming jobs over a really listening coordinator: bodies streamed by `http.request`, results
 * read as they arrive, tasks completed through the real scheduler (which wakes followers).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Limits } from '../config.ts';
import type { JobStatus } from '../protocol/http.ts';
import { frameOf, getLines, postStream, type StreamReply } from './stream-testing.ts';
import { prepareVolunteering, startTestCoordinator, TEST_ADMIN_KEY, type TestCoordinator } from './testing.ts';

const NDJSON = 'application/x-ndjson';
const FRAMES = 'application/x-sparecycles-inputs';

let c: TestCoordinator;
let moduleHash: string;
let siteKey: string;

async function start(limits: Partial<Limits> = {}): Promise<void> {
  // About streaming, not earned quota: a new volunteer may take many leases at once here.
  c = await startTestCoordinator({ limits, quota: { initial: 64, max: 64 } });
  await c.listen();
  ({ moduleHash, siteKey } = await prepareVolunteering(c, 'primes'));
}
beforeEach(async () => start());
afterEach(async () => c.close());

const post = (path: string, type: string, body: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<StreamReply> =>
  postStream(`${c.url}/api/v1${path}`, TEST_ADMIN_KEY, type, body);
const lines = (...values: unknown[]): Buffer => Buffer.from(values.map((v) => `${JSON.stringify(v)}\n`).join(''));
const status = async (id: string): Promise<JobStatus> => (await c.api('GET', `/jobs/${id}`)).json();

/** Tasks rows in the database, streamed or not: what a failed request must not leave behind. */
function taskRows(): number {
  const db = new Database(join(c.dir, 'sparecycles.db'), { readonly: true });
  try {
    return (db.prepare('select count(*) as n from tasks').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const volunteer = { volunteerId: 'volunteer-streaming-1', sessionId: 'session-streaming-1', siteKey: '' };
/** Leases one task through the scheduler and answers it with `output(input)`; false when none is left. */
async function completeOne(output: (input: Uint8Array) => Uint8Array = (input) => input): Promise<{ index: number } | undefined> {
  const { leases } = await c.scheduler.lease({ ...volunteer, siteKey }, { slots: 1 });
  const lease = leases[0];
  if (!lease) return undefined;
  await c.scheduler.result({ ...volunteer, siteKey }, { leaseId: lease.leaseId, output: output(lease.input), cpuMs: 1 });
  return { index: Number(lease.taskId.split(':').at(-1)) };
}
/** Every input of a job by index, as volunteers receive them (leased, then answered). */
async function leasedInputs(): Promise<Map<string, string[]>> {
  const byJob = new Map<string, string[]>();
  for (;;) {
    const { leases } = await c.scheduler.lease({ ...volunteer, siteKey }, { slots: 1 });
    const lease = leases[0];
    if (!lease) return byJob;
    const [jobId, index] = lease.taskId.split(':') as [string, string];
    const inputs = byJob.get(jobId) ?? [];
    inputs[Number(index)] = Buffer.from(lease.input).toString('hex');
    byJob.set(jobId, inputs);
    await c.scheduler.result({ ...volunteer, siteKey }, { leaseId: lease.leaseId, output: lease.input, cpuMs: 1 });
  }
}

describe('creating a streamed job', () => {
  it('the NDJSON, binary and JSON forms give identical jobs', async () => {
    const inputs = [Buffer.from('héllo'), Buffer.from([0, 255, 1]), Buffer.alloc(0), Buffer.from('{"json":true}\n')];
    const options = { module: moduleHash, title: 'same job', redundancy: 1, priority: 7 };
    const ndjson = await post('/jobs', NDJSON, [
      lines(options, { text: 'héllo' }, { base64: inputs[1]!.toString('base64') }),
      Buffer.from('\n  \r\n'),
      lines({ text: '' }, { text: '{"json":true}\n' }),
    ]);
    const binary = await post('/jobs', FRAMES, [frameOf(Buffer.from(JSON.stringify(options))), ...inputs.map(frameOf)]);
    const json = await c.api('POST', '/jobs', { ...options, inputs: inputs.map((i) => i.toString('base64')) });
    expect([ndjson.status, binary.status, json.statusCode]).toEqual([201, 201, 201]);
    const ids = [ndjson.json().id, binary.json().id, json.json().id] as string[];
    const comparable = ({ id: _id, createdAt: _at, ...rest }: JobStatus) => rest;
    const statuses = await Promise.all(ids.map(status));
    expect(comparable(statuses[0]!)).toEqual(comparable(statuses[2]!));
    expect(comparable(statuses[1]!)).toEqual(comparable(statuses[2]!));
    expect(statuses[0]).toMatchObject({ open: false, title: 'same job', counts: { total: 4, pending: 4 } });
    const leased = await leasedInputs();
    const expected = inputs.map((i) => i.toString('hex'));
    for (const id of ids) expect(leased.get(id)).toEqual(expected);
  });

  it('a bad line midway answers 400 naming it, and none of the inputs exist (nor the job)', async () => {
    const good = (from: number, n: number) => lines(...Array.from({ length: n }, (_, i) => ({ text: `input ${from + i}` })));
    const before = taskRows();
    // More than one batch is staged before the bad line.
    const reply = await post('/jobs', NDJSON, [lines({ module: moduleHash }), good(0, 2500), Buffer.from('{"base64":"not base64!"}\n'), good(2500, 10)]);
    expect(reply.status).toBe(400);
    expect(reply.json().error).toEqual({ code: 'bad_request', message: 'line 2502: base64 is not valid (RFC 4648, padded)' });
    expect(taskRows()).toBe(before);
    expect((await c.api('GET', '/jobs')).json()).toEqual({ jobs: [] });

    const badOptions = await post('/jobs', NDJSON, [lines({ module: moduleHash, inputs: [] }, { text: 'x' })]);
    expect(badOptions.json().error).toEqual({ code: 'bad_request', message: 'line 1: options: unknown field at /inputs' });
    const unknownModule = await post('/jobs', FRAMES, [frameOf(Buffer.from(JSON.stringify({ module: 'f'.repeat(64) }))), frameOf(Buffer.from('x'))]);
    expect([unknownModule.status, unknownModule.json().error.code]).toEqual([404, 'module_not_found']);
    const truncated = await post('/jobs', FRAMES, [frameOf(Buffer.from(JSON.stringify({ module: moduleHash }))), frameOf(Buffer.from('abc')).subarray(0, 5)]);
    expect(truncated.json().error).toEqual({ code: 'bad_request', message: 'frame 2: the body ended inside it (1 of its 3 bytes)' });
    const surrogate = await post('/jobs', NDJSON, [Buffer.from(`{"module":"${moduleHash}","title":"\\udc00"}\n`)]);
    expect(surrogate.json().error).toEqual({ code: 'bad_request', message: 'line 1: options/title contains a lone UTF-16 surrogate, which cannot be stored as given' });
    expect(taskRows()).toBe(before);
    expect((await c.api('GET', '/jobs')).json()).toEqual({ jobs: [] });
  });

  it('refuses another content type with 415 naming the three it takes', async () => {
    const reply = await post('/jobs', 'text/csv', [Buffer.from('a,b\n')]);
    expect([reply.status, reply.json().error.code]).toEqual([415, 'unsupported_media_type']);
    const append = await post('/jobs/any/inputs', 'application/json', [Buffer.from('{}')]);
    expect(append.json().error).toEqual({ code: 'unsupported_media_type', message: 'expected Content-Type: application/x-ndjson or application/x-sparecycles-inputs' });
  });
});

describe('open jobs', () => {
  it('takes appended inputs in both forms until closed, and completes only once closed and settled', async () => {
    const created = await post('/jobs', NDJSON, [lines({ module: moduleHash, open: true }, { text: 'a' }, { text: 'b' })]);
    expect(created.status).toBe(201);
    const id = created.json().id as string;
    expect(created.json()).toMatchObject({ open: true, state: 'active', counts: { total: 2 } });
    while (await completeOne());
    expect(await status(id)).toMatchObject({ state: 'active', open: true, counts: { total: 2, completed: 2 } });

    const appended = await post(`/jobs/${id}/inputs`, FRAMES, [frameOf(Buffer.from('c')), frameOf(Buffer.from('d'))]);
    expect([appended.status, appended.json()]).toEqual([200, { added: 2, total: 4 }]);
    const more = await post(`/jobs/${id}/inputs`, NDJSON, [lines({ text: 'e' })]);
    expect(more.json()).toEqual({ added: 1, total: 5 });
    const failed = await post(`/jobs/${id}/inputs`, NDJSON, [lines({ text: 'f' }, { text: 'g' }), Buffer.from('{"text":"h","x":1}\n')]);
    expect(failed.json().error).toEqual({ code: 'bad_request', message: 'line 3: expected {"base64": "…"} or {"text": "…"} (exactly one of the two keys)' });
    expect((await status(id)).counts.total).toBe(5);

    await completeOne();
    const closed = await c.api('POST', `/jobs/${id}/close`);
    expect(closed.json()).toMatchObject({ state: 'active', open: false, counts: { total: 5, completed: 3 } });
    while (await completeOne());
    expect(await status(id)).toMatchObject({ state: 'completed', counts: { total: 5, completed: 5 } });
    const results = await getLines(`${c.url}/api/v1/jobs/${id}/results?text=1`, TEST_ADMIN_KEY);
    expect((await results.rest()).map((line) => line.text)).toEqual(['a', 'b', 'c', 'd', 'e']);

    const late = await post(`/jobs/${id}/inputs`, NDJSON, [lines({ text: 'late' })]);
    expect([late.status, late.json().error.code]).toEqual([409, 'conflict']);
    const missing = await post('/jobs/nope/inputs', NDJSON, [lines({ text: 'x' })]);
    expect([missing.status, missing.json().error.code]).toEqual([404, 'job_not_found']);
    expect((await c.api('POST', '/jobs/nope/close')).statusCode).toBe(404);
  });

  it('one append at a time per job: a second concurrent request is a conflict', async () => {
    const id = (await post('/jobs', NDJSON, [lines({ module: moduleHash, open: true })])).json().id as string;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = post(`/jobs/${id}/inputs`, NDJSON, (async function* () {
      yield lines({ text: 'first' });
      await held;
      yield lines({ text: 'second' });
    })());
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await post(`/jobs/${id}/inputs`, NDJSON, [lines({ text: 'other' })]);
    expect([second.status, second.json().error.code]).toEqual([409, 'conflict']);
    expect((await c.api('POST', `/jobs/${id}/close`)).statusCode).toBe(409);
    release();
    expect((await first).json()).toEqual({ added: 2, total: 2 });
  });
});

describe('results', () => {
  it('in input order and in completion order, with text only for UTF-8 outputs', async () => {
    const id = (await post('/jobs', NDJSON, [lines({ module: moduleHash, maxAttempts: 1 }, { text: 'zero' }, { text: 'one' }, { text: 'two' }, { text: 'three' })])).json().id as string;
    const { leases } = await c.scheduler.lease({ ...volunteer, siteKey }, { slots: 4 });
    const byIndex = new Map(leases.map((l) => [Number(l.taskId.split(':')[1]), l.leaseId]));
    const v = { ...volunteer, siteKey };
    await c.scheduler.result(v, { leaseId: byIndex.get(2)!, output: Buffer.from('TWO'), cpuMs: 1 });
    await c.scheduler.fail(v, { leaseId: byIndex.get(0)!, kind: 'trap', message: 'unreachable' });
    await c.scheduler.result(v, { leaseId: byIndex.get(3)!, output: Buffer.from([0xff, 0xfe]), cpuMs: 1 });
    const read = async (query: string) => (await getLines(`${c.url}/api/v1/jobs/${id}/results${query}`, TEST_ADMIN_KEY)).rest();

    expect((await read('')).map((l) => [l.index, l.state])).toEqual([[0, 'failed'], [1, 'running'], [2, 'completed'], [3, 'completed']]);
    const completion = await read('?order=completion&text=1');
    expect(completion.map((l) => [l.index, l.state, l.text])).toEqual([[2, 'completed', 'TWO'], [0, 'failed', undefined], [3, 'completed', undefined]]);
    expect(completion[2]).toEqual({ index: 3, state: 'completed', output: Buffer.from([0xff, 0xfe]).toString('base64') });
    expect(completion[1].errors[0]).toMatchObject({ kind: 'trap', message: 'unreachable' });
    expect((await read('?order=input')).find((l) => l.index === 2)).not.toHaveProperty('text');

    const bad = await c.api('GET', `/jobs/${id}/results?order=random`);
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'bad_request']);
    expect((await c.api('GET', `/jobs/${id}/results?follow=maybe`)).statusCode).toBe(400);
  });

  it('follow sends each result as it is accepted, without polling, and ends when the closed job settles', async () => {
    const id = (await post('/jobs', NDJSON, [lines({ module: moduleHash, open: true }, { text: 'a' }, { text: 'b' })])).json().id as string;
    const follower = await getLines(`${c.url}/api/v1/jobs/${id}/results?order=completion&follow=1&text=1`, TEST_ADMIN_KEY);
    expect(follower.status).toBe(200);
    const upper = (input: Uint8Array) => Buffer.from(Buffer.from(input).toString().toUpperCase());

    // Watch the store while the follower waits: it must not read anything until woken.
    let reads = 0;
    const listSettled = c.store.listSettled.bind(c.store);
    c.store.listSettled = (...args) => (reads++, listSettled(...args));
    await expect.poll(() => c.jobEvents.followers(id)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reads).toBe(0);

    const first = await completeOne(upper);
    expect(await follower.next()).toMatchObject({ index: first!.index, state: 'completed' });
    await completeOne(upper);
    const second = await follower.next();
    expect(second.text).toMatch(/^[AB]$/);
    // Appended after the follower started: followed too.
    await post(`/jobs/${id}/inputs`, NDJSON, [lines({ text: 'c' })]);
    await completeOne(upper);
    expect(await follower.next()).toMatchObject({ index: 2, text: 'C' });
    const readsBeforeQuiet = reads;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reads).toBe(readsBeforeQuiet);

    await c.api('POST', `/jobs/${id}/close`);
    expect(await follower.next()).toBeUndefined();
    expect(c.jobEvents.followers(id)).toBe(0);
  });

  it('follow in input order holds results back until the ones before them settle; cancel ends the stream', async () => {
    const id = (await post('/jobs', NDJSON, [lines({ module: moduleHash }, { text: 'a' }, { text: 'b' }, { text: 'c' })])).json().id as string;
    const { leases } = await c.scheduler.lease({ ...volunteer, siteKey }, { slots: 2 });
    const follower = await getLines(`${c.url}/api/v1/jobs/${id}/results?follow=1`, TEST_ADMIN_KEY);
    await c.scheduler.result({ ...volunteer, siteKey }, { leaseId: leases[1]!.leaseId, output: Buffer.from('B'), cpuMs: 1 });
    await c.scheduler.result({ ...volunteer, siteKey }, { leaseId: leases[0]!.leaseId, output: Buffer.from('A'), cpuMs: 1 });
    expect((await follower.next()).index).toBe(0);
    expect((await follower.next()).index).toBe(1);
    await c.api('POST', `/jobs/${id}/cancel`);
    expect(await follower.next()).toMatchObject({ index: 2, state: 'cancelled' });
    expect(await follower.next()).toBeUndefined();
  });

  it('a follower that disconnects leaves nothing behind', async () => {
    const id = (await post('/jobs', NDJSON, [lines({ module: moduleHash }, { text: 'a' })])).json().id as string;
    const follower = await getLines(`${c.url}/api/v1/jobs/${id}/results?follow=1&order=completion`, TEST_ADMIN_KEY);
    await expect.poll(() => c.jobEvents.followers(id)).toBe(1);
    follower.close();
    await expect.poll(() => c.jobEvents.followers(id)).toBe(0);
  });

  it('a coordinator shutting down ends its followers instead of waiting for them', async () => {
    const id = (await post('/jobs', NDJSON, [lines({ module: moduleHash }, { text: 'a' })])).json().id as string;
    await getLines(`${c.url}/api/v1/jobs/${id}/results?follow=1&order=completion`, TEST_ADMIN_KEY);
    await expect.poll(() => c.jobEvents.followers(id)).toBe(1);
    const started = Date.now();
    await c.app.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(c.jobEvents.followers(id)).toBe(0);
  });
});

describe('the job list', () => {
  it('lists jobs newest first, by state, up to a limit', async () => {
    const ids: string[] = [];
    for (const text of ['a', 'b', 'c']) {
      ids.push((await post('/jobs', NDJSON, [lines({ module: moduleHash }, { text })])).json().id);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await c.api('POST', `/jobs/${ids[1]}/cancel`);
    const list = (query: string) => c.api('GET', `/jobs${query}`).then((r) => r.json());
    expect((await list('')).jobs.map((j: JobStatus) => j.id)).toEqual([...ids].reverse());
    expect((await list('?limit=2')).jobs.map((j: JobStatus) => j.id)).toEqual([ids[2], ids[1]]);
    expect((await list('?state=cancelled')).jobs.map((j: JobStatus) => [j.id, j.state])).toEqual([[ids[1], 'cancelled']]);
    expect((await c.api('GET', '/jobs?limit=0')).statusCode).toBe(400);
    expect((await c.api('GET', '/jobs?state=sleeping')).statusCode).toBe(400);
  });
});

describe('limits and attacks', () => {
  it('an input over the limit is a 413 naming it, in every form', async () => {
    const big = Buffer.alloc(64 * 1024 + 1, 1);
    const ndjson = await post('/jobs', NDJSON, [lines({ module: moduleHash }, { base64: big.toString('base64') })]);
    expect([ndjson.status, ndjson.json().error.message]).toEqual([413, expect.stringMatching(/^line 2: an input of 65537 bytes is over the limit of 65536 bytes \(SPARECYCLES_MAX_INPUT_BYTES\)/)]);
    const frames = await post('/jobs', FRAMES, [frameOf(Buffer.from(JSON.stringify({ module: moduleHash }))), frameOf(big)]);
    expect([frames.status, frames.json().error.message]).toEqual([413, 'frame 2: 65537 bytes, over the limit of 65536 bytes (SPARECYCLES_MAX_INPUT_BYTES)']);
    const json = await c.api('POST', '/jobs', { module: moduleHash, inputs: [big.subarray(0, 40_000).toString('base64'), Buffer.alloc(0).toString('base64')] });
    expect(json.statusCode).toBe(201);
    expect(taskRows()).toBe(2);
  });

  it('a giant line or frame in an endless body is refused after reading about the limit, not the whole body', async () => {
    let sent = 0;
    async function* endless(first: Buffer, filler: Buffer) {
      yield first;
      for (;;) {
        sent += filler.length;
        yield filler;
      }
    }
    const line = await post('/jobs', NDJSON, endless(Buffer.from(`${JSON.stringify({ module: moduleHash })}\n{"text":"`), Buffer.alloc(16 * 1024, 'x')));
    expect([line.status, line.json().error.code]).toEqual([413, 'payload_too_large']);
    expect(line.json().error.message).toMatch(/^line 2: longer than \d+ bytes/);
    expect(sent).toBeLessThan(8 * 1024 * 1024);
    sent = 0;
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(0xffffffff);
    const frame = await post('/jobs', FRAMES, endless(Buffer.concat([frameOf(Buffer.from(JSON.stringify({ module: moduleHash }))), prefix]), Buffer.alloc(16 * 1024)));
    expect([frame.status, frame.json().error.message]).toEqual([413, 'frame 2: 4294967295 bytes, over the limit of 65536 bytes (SPARECYCLES_MAX_INPUT_BYTES)']);
    expect(sent).toBeLessThan(8 * 1024 * 1024);
    expect(taskRows()).toBe(0);
  });

  it('an endless body of small inputs stops at the tasks-per-job limit with 413, leaving nothing', async () => {
    await c.close();
    await start({ maxTasksPerJob: 3000 });
    async function* endless() {
      yield lines({ module: moduleHash });
      for (let i = 0; ; i++) yield lines({ text: String(i) });
    }
    const reply = await post('/jobs', NDJSON, endless());
    expect([reply.status, reply.json().error.message]).toEqual([413, 'line 3002: a job has at most 3000 tasks (SPARECYCLES_MAX_TASKS_PER_JOB)']);
    expect(taskRows()).toBe(0);
    const json = await c.api('POST', '/jobs', { module: moduleHash, inputs: Array.from({ length: 3001 }, () => '') });
    expect([json.statusCode, json.json().error.message]).toEqual([413, 'a job has at most 3000 tasks (SPARECYCLES_MAX_TASKS_PER_JOB); got 3001']);
    // Appends count towards it too.
    const id = (await post('/jobs', NDJSON, [lines({ module: moduleHash, open: true }), ...Array.from({ length: 2999 }, () => lines({ text: '' }))])).json().id;
    const over = await post(`/jobs/${id}/inputs`, FRAMES, [frameOf(Buffer.from('a')), frameOf(Buffer.from('b'))]);
    expect([over.status, over.json().error.message]).toEqual([413, 'frame 2: a job has at most 3000 tasks (SPARECYCLES_MAX_TASKS_PER_JOB)']);
    expect((await status(id)).counts.total).toBe(2999);
  });

  it('a body that stops sending (slowloris) is refused once idle, and its inputs are dropped', async () => {
    await c.close();
    await start({ streamIdleMs: 300 });
    const started = Date.now();
    const reply = await post('/jobs', NDJSON, (async function* () {
      yield lines({ module: moduleHash }, { text: 'a' });
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      yield lines({ text: 'b' });
    })());
    expect([reply.status, reply.json().error.message]).toEqual([400, 'the body sent nothing for 300 ms; the request was ended (SPARECYCLES_STREAM_IDLE_MS)']);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(taskRows()).toBe(0);
    expect((await c.api('GET', '/jobs')).json()).toEqual({ jobs: [] });
  });

  it('a client that vanishes mid-body leaves no job and no tasks', async () => {
    const { request } = await import('node:http');
    const req = request(`${c.url}/api/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': NDJSON } });
    req.on('error', () => undefined);
    req.write(lines({ module: moduleHash }, ...Array.from({ length: 1500 }, (_, i) => ({ text: String(i) }))));
    await new Promise((resolve) => setTimeout(resolve, 300));
    req.destroy();
    await expect.poll(async () => (await c.api('GET', '/jobs')).json().jobs.length + taskRows()).toBe(0);
  });
});
