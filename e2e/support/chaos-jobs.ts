/**
 * Job helpers for the chaos suite, free of any test runner (Vitest and Playwright both use them):
 * the public REST API of one coordinator, a wait that survives the coordinator being down and says
 * what the job was doing when it gives up, and exact checks of a job's results against an
 * independent reference (every index present once, every output decoded and compared).
 */
import type { VolunteerInfo } from '../../server/src/protocol/http.ts';
import { decodePrimesOutput, encodePrimesInput } from '../../wasm/tasks/primes/codec.ts';
import { countPrimesReference } from '../../wasm/tasks/primes/reference.ts';
import { apiClient, type JobStatus, type NewJob, type ResultLine } from './api.ts';

/** A job as the chaos cases submit it: the e2e client's, plus replication. */
export interface ChaosJob extends NewJob {
  redundancy?: number;
  quorum?: number;
  adaptiveReplication?: boolean;
}

export interface PrimeRange {
  lo: number;
  hi: number;
}

/** `count` consecutive ranges of `width` numbers from `from`. */
export function primeRanges(count: number, width: number, from = 0): PrimeRange[] {
  return Array.from({ length: count }, (_, i) => ({ lo: from + i * width, hi: from + (i + 1) * width }));
}

export const primeInputs = (ranges: PrimeRange[]): Uint8Array[] => ranges.map(({ lo, hi }) => encodePrimesInput(lo, hi));

/** The REST client of one coordinator, with the verbs the chaos cases need besides the e2e ones. */
export function chaosApi(base: string, adminKey: string) {
  const api = apiClient(base, adminKey);
  return {
    ...api,
    base,
    createJob: (job: ChaosJob): Promise<string> => api.createJob(job),
    async volunteer(id: string): Promise<VolunteerInfo> {
      const response = await fetch(`${base}/api/v1/volunteers/${encodeURIComponent(id)}`, {
        headers: { authorization: `Bearer ${adminKey}` },
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`GET /volunteers/${id} → ${response.status}: ${text}`);
      return JSON.parse(text) as VolunteerInfo;
    },
  };
}
export type ChaosApi = ReturnType<typeof chaosApi>;

/** One line per task that did not simply complete, or that has a history: what a failure report needs. */
export function describeTasks(results: ResultLine[], limit = 40): string {
  const notable = results.filter((line) => line.state !== 'completed' || (line.errors ?? []).length > 0);
  const lines = notable.slice(0, limit).map((line) => {
    const history = (line.errors ?? []).map((error) => `#${error.attempt} ${error.kind}: ${error.message.slice(0, 80)}`);
    return `  task ${line.index} ${line.state}${history.length > 0 ? ` — ${history.join(' | ')}` : ''}`;
  });
  if (notable.length > limit) lines.push(`  … and ${notable.length - limit} more`);
  return lines.length > 0 ? lines.join('\n') : '  (every task completed without a recorded error)';
}

export interface WaitOptions {
  timeoutMs: number;
  /** Extra context for the timeout message, e.g. a coordinator's output or volunteers' stats. */
  context?: () => string;
}

/**
 * Polls until the job is no longer `active`. Connection errors (the coordinator is down) are
 * retried. On timeout it throws with the job's last counts, the tasks' histories and `context()`.
 */
export async function waitForJobSettled(api: ChaosApi, jobId: string, options: WaitOptions): Promise<JobStatus> {
  const until = Date.now() + options.timeoutMs;
  let last: JobStatus | undefined;
  let lastError = '';
  for (;;) {
    try {
      last = await api.jobStatus(jobId);
      if (last.state !== 'active') return last;
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (Date.now() > until) break;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  const results = await api.jobResults(jobId).catch(() => undefined);
  throw new Error(
    [
      `job ${jobId} still not settled after ${options.timeoutMs} ms`,
      `last status: ${last ? `${last.state} ${JSON.stringify(last.counts)}` : 'never read'}`,
      ...(lastError ? [`last API error: ${lastError}`] : []),
      'tasks:',
      results ? describeTasks(results) : '  (results unavailable)',
      ...(options.context ? ['context:', options.context()] : []),
    ].join('\n'),
  );
}

/** Polls `probe` until it returns true; throws `message()` on timeout. */
export async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(probe()).catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms: ${message()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

/**
 * Every way `results` differs from "each of `expected.length` tasks completed once with exactly
 * `expected[i]`": missing, repeated or extra indexes, other states, other bytes. Empty when exact.
 */
export function resultProblems(results: ResultLine[], expected: Uint8Array[], show: (bytes: Uint8Array) => string = hex): string[] {
  const problems: string[] = [];
  const seen = new Map<number, number>();
  for (const line of results) seen.set(line.index, (seen.get(line.index) ?? 0) + 1);
  for (const [index, times] of seen) {
    if (times > 1) problems.push(`task ${index} listed ${times} times`);
    if (index < 0 || index >= expected.length || !Number.isInteger(index)) problems.push(`unexpected task index ${index}`);
  }
  for (let index = 0; index < expected.length; index++) if (!seen.has(index)) problems.push(`task ${index} missing`);
  for (const line of results) {
    const want = expected[line.index];
    if (!want) continue;
    if (line.state !== 'completed') {
      problems.push(`task ${line.index} is ${line.state}: ${JSON.stringify(line.errors ?? [])}`);
      continue;
    }
    const got = fromBase64(line.output ?? '');
    if (!sameBytes(got, want)) problems.push(`task ${line.index}: got ${show(got)}, expected ${show(want)}`);
  }
  return problems;
}

/** The reference output of each range: the u32 LE count of primes an independent sieve finds. */
export function primesReferenceOutputs(ranges: PrimeRange[]): Uint8Array[] {
  return ranges.map(({ lo, hi }) => {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, countPrimesReference(lo, hi), true);
    return bytes;
  });
}

/** `resultProblems` for a primes job, outputs shown as decoded counts where they decode. */
export function primesProblems(results: ResultLine[], ranges: PrimeRange[]): string[] {
  return resultProblems(results, primesReferenceOutputs(ranges), (bytes) => {
    try {
      return `${decodePrimesOutput(bytes)} primes`;
    } catch {
      return `${bytes.length} bytes ${hex(bytes)}`;
    }
  });
}

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((byte, i) => byte === b[i]);

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.subarray(0, 32)).toString('hex') + (bytes.length > 32 ? '…' : '');
