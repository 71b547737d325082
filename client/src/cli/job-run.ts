/**
 * `sparecycles job run` against a coordinator: upload the module if given as a file, stream the
 * inputs file through the SDK, follow the results (completion order) into the output file as they
 * are accepted, and show progress. With `order: 'input'` the file is rewritten in input order once
 * the job has ended (the coordinator keeps the results, so nothing is buffered here).
 */
import { rename } from 'node:fs/promises';
import type { Client, Job, JobOptions, JobStatus } from '../sdk/index.ts';
import { EXIT } from './exit.ts';
import { openLineWriter, readInputFile, resultFileLine, type LineWriter } from './files.ts';
import { askCancelOrLeave, nextInterrupt } from './interrupt.ts';
import { readModuleSource } from './module-source.ts';
import { addSample, formatDuration, formatProgress, ratePerSecond, type ProgressSample } from './progress.ts';
import type { ProgressRenderer } from './render.ts';

export interface JobRunOptions {
  client: Client;
  module: string;
  inputs: string;
  out: string;
  order: 'completion' | 'input';
  /** Add `text` beside `output` when the output is valid UTF-8. */
  text?: boolean;
  settings: JobOptions;
  renderer: ProgressRenderer;
  /** Messages for the user (stderr). */
  log(line: string): void;
  /** How often the status is asked for (ms). */
  tickMs?: number;
}

const GRID_EVERY_TICKS = 5;

export async function runJob(options: JobRunOptions): Promise<number> {
  const { client, renderer, log } = options;
  const source = await readModuleSource(options.module);
  let hash: string;
  if (source.kind === 'file') {
    hash = (await client.pushModule(source.bytes)).hash;
    log(`module ${hash} (${source.path})`);
  } else hash = source.hash;
  const writer = await openLineWriter(options.out);

  let sent = 0;
  let uploading = true;
  let announce: (job: Job) => void = () => {};
  const created = new Promise<Job>((resolve) => (announce = resolve));
  const upload = client
    .createJob({
      module: hash,
      inputs: readInputFile(options.inputs),
      ...options.settings,
      onBatch({ job, total }) {
        sent = total;
        announce(job);
      },
    })
    .finally(() => (uploading = false));
  // Whichever comes first: the job (first batch stored) or the upload's failure before it exists.
  const job = await Promise.race([created, upload]);
  log(`job ${job.id}: following its results into ${options.out}`);

  const follow = new AbortController();
  const interrupt = nextInterrupt();
  let interrupted = false;
  void interrupt.promise.then(() => {
    interrupted = true;
    follow.abort();
  });
  // The upload's failure ends the job (the SDK cancels it), which ends the follow below; its error
  // is reported after that, so a rejection must not go unhandled meanwhile.
  upload.catch(() => undefined);

  let samples: ProgressSample[] = [];
  let settled = 0;
  let failed = 0;
  let volunteers: number | undefined;
  let ticks = 0;
  const tick = async (): Promise<void> => {
    const status = await job.status().catch(() => undefined);
    if (ticks++ % GRID_EVERY_TICKS === 0) volunteers = (await client.grid().catch(() => undefined))?.volunteersOnline;
    const total = status?.counts.total ?? sent;
    samples = addSample(samples, { at: Date.now(), done: settled });
    if (!interrupted) renderer.update(formatProgress({ done: settled, total, failed, rate: ratePerSecond(samples), workers: volunteers, uploading }));
  };
  const timer = setInterval(() => void tick(), options.tickMs ?? 1_000);
  const started = Date.now();

  try {
    try {
      for await (const result of job.results({ order: 'completion', follow: true, text: options.text ?? false, signal: follow.signal })) {
        await writer.write(resultFileLine(result));
        settled++;
        if (result.state !== 'completed') failed++;
      }
    } catch (error) {
      if (!interrupted) throw error;
    }
    clearInterval(timer);
    await writer.close();
    if (interrupted) return await leaveOrCancel(job, options, uploading);
    interrupt.dispose();
    await upload;
    const status = await job.status();
    if (options.order === 'input') await rewriteInInputOrder(job, options.out, options.text ?? false);
    renderer.done(summary(status, Date.now() - started, options.out));
    return status.counts.failed + status.counts.cancelled > 0 ? EXIT.failedTasks : EXIT.ok;
  } finally {
    clearInterval(timer);
    interrupt.dispose();
  }
}

async function leaveOrCancel(job: Job, options: JobRunOptions, uploading: boolean): Promise<number> {
  options.renderer.clear();
  // Inputs come from this process: a job left with half of them would never be complete.
  const choice = uploading ? 'cancel' : await askCancelOrLeave(job.id);
  if (choice === 'cancel') {
    await job.cancel();
    options.log(`job ${job.id} cancelled${uploading ? ' (its inputs were still being sent)' : ''}; results so far are in ${options.out}`);
  } else {
    options.log(
      `job ${job.id} keeps running. Follow it with:\n` +
        `  sparecycles job status ${job.id}\n` +
        `  sparecycles job results ${job.id} --order completion --follow --out ${options.out}`,
    );
  }
  return EXIT.interrupted;
}

async function rewriteInInputOrder(job: Job, out: string, text: boolean): Promise<void> {
  const temporary = `${out}.partial`;
  const writer: LineWriter = await openLineWriter(temporary);
  for await (const result of job.results({ order: 'input', text })) await writer.write(resultFileLine(result));
  await writer.close();
  await rename(temporary, out);
}

function summary(status: JobStatus, elapsedMs: number, out: string): string {
  const { completed, failed, cancelled, total } = status.counts;
  return `job ${status.id} ${status.state}: ${completed}/${total} completed, ${failed} failed, ${cancelled} cancelled in ${formatDuration(elapsedMs)}; results in ${out}`;
}
