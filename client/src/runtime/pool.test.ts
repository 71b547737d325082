import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileTask } from '../../../wasm/host/index.ts';
import { inlineWorkers, threadWorkers } from '../agent/workers.ts';
import { watToWasm } from '../../../wasm/testing/wat.ts';
import { BEHAVING_WAT, behavingModule, LOOP, TRAP } from '../testing/modules.ts';
import { createPool, type Pool, type WorkerFactory } from './pool.ts';

const limits = { maxMemoryBytes: 1 << 20, maxOutputBytes: 1024 };
let module: WebAssembly.Module;
const pools: Pool[] = [];

beforeAll(async () => {
  module = await compileTask(await behavingModule(), limits.maxMemoryBytes);
});

afterEach(() => {
  for (const pool of pools.splice(0)) pool.close();
});

/** A thread factory that counts the threads it started and the ones it terminated. */
function countingThreads(): { create: WorkerFactory; started: () => number; terminated: () => number } {
  let started = 0;
  let terminated = 0;
  return {
    create: () => {
      started += 1;
      const handle = threadWorkers();
      return { ...handle, terminate: () => (terminated++, handle.terminate()) };
    },
    started: () => started,
    terminated: () => terminated,
  };
}

function pool(size: number, create: WorkerFactory): Pool {
  const created = createPool({ size, create });
  pools.push(created);
  return created;
}

const task = (id: string, input: Uint8Array, timeoutMs = 5_000) => ({ id, module, input, limits, timeoutMs });

describe('pool on worker_threads', () => {
  it('runs a task and reuses the worker for the next one', async () => {
    const threads = countingThreads();
    const p = pool(1, threads.create);
    const first = await p.run(task('a', Uint8Array.of(41)));
    expect(first).toMatchObject({ ok: true, output: Uint8Array.of(42) });
    expect(await p.run(task('b', Uint8Array.of(1)))).toMatchObject({ ok: true, output: Uint8Array.of(2) });
    expect(threads.started()).toBe(1);
    expect(p.free()).toBe(1);
  });

  it('reports a trap as a trap and keeps working', async () => {
    const p = pool(1, threadWorkers);
    expect(await p.run(task('t', TRAP))).toMatchObject({ ok: false, kind: 'trap' });
    expect(await p.run(task('ok', Uint8Array.of(7)))).toMatchObject({ ok: true, output: Uint8Array.of(8) });
  });

  it('terminates a runaway task at its time limit and replaces the worker', async () => {
    const threads = countingThreads();
    const p = pool(1, threads.create);
    const started = performance.now();
    const outcome = await p.run(task('loop', LOOP, 300));
    const elapsed = performance.now() - started;
    expect(outcome).toMatchObject({ ok: false, kind: 'timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3_000);
    expect(threads.terminated()).toBe(1);
    expect(await p.run(task('after', Uint8Array.of(9)))).toMatchObject({ ok: true, output: Uint8Array.of(10) });
    expect(threads.started()).toBe(2);
  });

  it('cancels a running task by terminating its worker, leaving the others alone', async () => {
    const threads = countingThreads();
    const p = pool(2, threads.create);
    const looping = p.run(task('loop', LOOP));
    const other = p.run(task('quick', Uint8Array.of(3, 20)));
    expect(p.free()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(p.cancel('loop')).toBe(true);
    expect(p.cancel('loop')).toBe(false);
    expect(await looping).toMatchObject({ ok: false, kind: 'cancelled' });
    expect(await other).toMatchObject({ ok: true, output: Uint8Array.of(4) });
    expect(threads.terminated()).toBe(1);
    expect(await p.run(task('next', Uint8Array.of(0)))).toMatchObject({ ok: true });
  });

  it('runs each task with its own module when modules alternate on one thread (the thread keeps only the last)', async () => {
    const plusTwo = await compileTask(await watToWasm(BEHAVING_WAT.replace('(i32.add (local.get $op) (i32.const 1))', '(i32.add (local.get $op) (i32.const 2))')), limits.maxMemoryBytes);
    const p = pool(1, threadWorkers);
    const outputs: number[] = [];
    for (const [id, which] of [['a', module], ['b', module], ['c', plusTwo], ['d', module], ['e', plusTwo], ['f', plusTwo]] as const) {
      const outcome = await p.run({ ...task(id, Uint8Array.of(10)), module: which });
      outputs.push(outcome.ok ? outcome.output[0]! : -1);
    }
    expect(outputs).toEqual([11, 11, 12, 11, 12, 12]);
  });

  it('refuses more tasks than workers, and anything once closed', async () => {
    const p = pool(1, threadWorkers);
    const running = p.run(task('loop', LOOP));
    await expect(p.run(task('extra', Uint8Array.of(1)))).rejects.toThrow(/no free worker/);
    p.close();
    expect(await running).toMatchObject({ ok: false, kind: 'cancelled' });
    await expect(p.run(task('late', Uint8Array.of(1)))).rejects.toThrow(/closed/);
  });
});

describe('pool inline', () => {
  it('runs tasks in this thread', async () => {
    const p = pool(2, inlineWorkers);
    const outcomes = await Promise.all([p.run(task('a', Uint8Array.of(1))), p.run(task('b', Uint8Array.of(2)))]);
    expect(outcomes).toMatchObject([{ ok: true, output: Uint8Array.of(2) }, { ok: true, output: Uint8Array.of(3) }]);
  });

  it('cannot preempt, but reports an overrun as a timeout', async () => {
    const p = pool(1, inlineWorkers);
    // About 400M loop iterations: tens of ms at least, far over a 1 ms budget.
    const outcome = await p.run(task('slow', Uint8Array.of(1, 100), 1));
    expect(outcome).toMatchObject({ ok: false, kind: 'timeout' });
  });
});
