/**
 * `sparecycles job run --local`: the job on this machine's cores with no coordinator, through the
 * very pool, worker threads and wasm ABI host the Node volunteer uses, so an author tests exactly
 * what volunteers run. Each task is tried up to `maxAttempts` times as on the grid, and its lines
 * are those a coordinator run writes (see files.ts). In input order, a bounded window of tasks runs
 * ahead of the oldest unfinished one, so memory stays bounded however many inputs there are.
 */
import { availableParallelism } from 'node:os';
import { compileTask, type TaskLimits } from '../../../wasm/host/index.ts';
import { threadWorkers } from '../agent/workers.ts';
import { createPool, type Pool } from '../runtime/pool.ts';
import type { JobInput, TaskError } from '../sdk/index.ts';
import { EXIT, UsageError } from './exit.ts';
import { openLineWriter, readInputFile, resultFileLine, type ResultRecord } from './files.ts';
import { nextInterrupt } from './interrupt.ts';
import { readModuleSource } from './module-source.ts';
import { addSample, formatDuration, formatProgress, ratePerSecond, type ProgressSample } from './progress.ts';
import type { ProgressRenderer } from './render.ts';

/** The coordinator's defaults (server/src/config.ts), so a local run meets the grid's limits. */
export const LOCAL_DEFAULTS = {
  maxMemoryBytes: 256 * 1024 * 1024,
  maxOutputBytes: 4 * 1024 * 1024,
  deadlineMs: 30_000,
  maxAttempts: 3,
} as const;

/** Tasks that may finish ahead of the oldest unwritten one, per thread, in input order. */
const WINDOW_PER_THREAD = 64;

export interface LocalRunOptions {
  module: string;
  inputs: string;
  out: string;
  order: 'completion' | 'input';
  /** Add `text` beside `output` when the output is valid UTF-8 (as the coordinator's `?text=1`). */
  text?: boolean | undefined;
  threads?: number | undefined;
  deadlineMs?: number | undefined;
  maxAttempts?: number | undefined;
  renderer: ProgressRenderer;
  log(line: string): void;
}

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The output as text when it is valid UTF-8, else undefined. */
function textOf(output: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(output);
  } catch {
    return undefined;
  }
}

async function runTaskWithRetries(pool: Pool, module: WebAssembly.Module, index: number, input: Uint8Array, limits: TaskLimits, timeoutMs: number, maxAttempts: number, withText: boolean): Promise<ResultRecord> {
  const errors: TaskError[] = [];
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const outcome = await pool.run({ id: `${index}.${attempt}`, module, input, limits, timeoutMs });
    if (outcome.ok) return { index, state: 'completed', output: outcome.output, text: withText ? textOf(outcome.output) : undefined };
    errors.push({ attempt, kind: outcome.kind, message: outcome.message, at: Date.now() });
  }
  return { index, state: 'failed', errors };
}

export async function runLocal(options: LocalRunOptions): Promise<number> {
  const source = await readModuleSource(options.module);
  if (source.kind !== 'file') throw new UsageError('--local needs the module as a .wasm file (there is no coordinator to fetch a hash from)');
  const limits: TaskLimits = { maxMemoryBytes: LOCAL_DEFAULTS.maxMemoryBytes, maxOutputBytes: LOCAL_DEFAULTS.maxOutputBytes };
  let module: WebAssembly.Module;
  try {
    module = await compileTask(source.bytes, limits.maxMemoryBytes);
  } catch (error) {
    throw new UsageError(`${source.path}: ${(error as Error).message}`);
  }
  const threads = options.threads ?? availableParallelism();
  const timeoutMs = options.deadlineMs ?? LOCAL_DEFAULTS.deadlineMs;
  const maxAttempts = options.maxAttempts ?? LOCAL_DEFAULTS.maxAttempts;
  const window = threads * WINDOW_PER_THREAD;
  const pool = createPool({ size: threads, create: threadWorkers });
  const writer = await openLineWriter(options.out);
  const interrupt = nextInterrupt();
  let interrupted = false;
  void interrupt.promise.then(() => {
    interrupted = true;
    pool.close();
  });

  const finished = new Map<number, ResultRecord>();
  let nextToWrite = 0;
  let read = 0;
  let settled = 0;
  let failed = 0;
  let samples: ProgressSample[] = [];
  const started = Date.now();
  const timer = setInterval(() => {
    samples = addSample(samples, { at: Date.now(), done: settled });
    options.renderer.update(formatProgress({ done: settled, total: read, failed, rate: ratePerSecond(samples), workers: `${threads} local threads` }));
  }, 1_000);

  // Writes are chained so lines never interleave, whatever order tasks finish in.
  let writing: Promise<void> = Promise.resolve();
  const record = (result: ResultRecord): void => {
    settled++;
    if (result.state !== 'completed') failed++;
    if (options.order === 'completion') {
      writing = writing.then(() => writer.write(resultFileLine(result)));
      return;
    }
    finished.set(result.index, result);
    for (let next = finished.get(nextToWrite); next; next = finished.get(nextToWrite)) {
      finished.delete(nextToWrite++);
      const line = resultFileLine(next);
      writing = writing.then(() => writer.write(line));
    }
  };

  const running = new Set<Promise<void>>();
  try {
    for await (const input of readInputFile(options.inputs)) {
      if (interrupted) break;
      const index = read++;
      while (running.size >= threads || (options.order === 'input' && index - nextToWrite >= window)) await Promise.race(running);
      const task = runTaskWithRetries(pool, module, index, asBytes(input), limits, timeoutMs, maxAttempts, options.text ?? false).then(
        (result) => void (interrupted || record(result)),
        (error: unknown) => {
          // Closing the pool on Ctrl-C ends the running tasks; only other failures are news.
          if (!interrupted) throw error;
        },
      );
      const tracked: Promise<void> = task.finally(() => running.delete(tracked));
      running.add(tracked);
    }
    await Promise.all(running);
    await writing;
    await writer.close();
  } finally {
    clearInterval(timer);
    interrupt.dispose();
    pool.close();
  }
  if (interrupted) {
    options.renderer.clear();
    options.log(`stopped: ${settled} of the ${read} inputs read so far have results in ${options.out}`);
    return EXIT.interrupted;
  }
  options.renderer.done(`local run: ${settled - failed}/${read} completed, ${failed} failed in ${formatDuration(Date.now() - started)} on ${threads} threads; results in ${options.out}`);
  return failed > 0 ? EXIT.failedTasks : EXIT.ok;
}

function asBytes(input: JobInput): Uint8Array {
  return typeof input === 'string' ? encoder.encode(input) : input;
}
