/**
 * A job of N primes inputs streamed as NDJSON to a coordinator in its own process, and that
 * process's peak RSS: the benchmark's "accept 1,000,000 inputs" and the bounded-memory chaos test.
 */
import { readFile } from 'node:fs/promises';
import { encodePrimesInput } from '../../wasm/tasks/primes/codec.ts';
import { postStream } from '../../server/src/http/stream-testing.ts';
import { apiClient } from './api.ts';
import { startCoordinatorProcess } from './coordinator-process.ts';

/** A `/proc/PID/status` field in KiB (VmHWM: peak resident set; VmRSS: now). */
export async function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** The body: the options line, then `count` input lines, in chunks of about 64 KiB. */
export async function* primesNdjson(moduleHash: string, count: number): AsyncGenerator<Buffer> {
  yield Buffer.from(`${JSON.stringify({ module: moduleHash, title: `accept ${count} inputs` })}\n`);
  let lines: string[] = [];
  let size = 0;
  for (let i = 0; i < count; i++) {
    const line = `{"base64":"${Buffer.from(encodePrimesInput(i * 10, i * 10 + 10)).toString('base64')}"}\n`;
    lines.push(line);
    size += line.length;
    if (size >= 64 * 1024) {
      yield Buffer.from(lines.join(''));
      lines = [];
      size = 0;
    }
  }
  if (lines.length > 0) yield Buffer.from(lines.join(''));
}

export interface Accepted {
  inputs: number;
  /** From the first byte sent to the 201. */
  wallMs: number;
  /** The coordinator's peak RSS before the job was sent, and after it was accepted. */
  startRssMiB: number;
  peakRssMiB: number;
}

/** Starts a fresh coordinator on `port`, streams a job of `inputs` inputs to it, and stops it. */
export async function acceptStreamedJob(primes: Uint8Array, inputs: number, port: number, adminKey: string): Promise<Accepted> {
  const coordinator = await startCoordinatorProcess({ port, dataDir: `.tmp/accept-${port}`, adminKey });
  try {
    const pid = coordinator.child.pid!;
    const api = apiClient(coordinator.url, adminKey);
    const hash = await api.uploadModule(primes);
    const startRssMiB = (await statusKiB(pid, 'VmHWM')) / 1024;
    const started = performance.now();
    const reply = await postStream(`${coordinator.url}/api/v1/jobs`, adminKey, 'application/x-ndjson', primesNdjson(hash, inputs));
    const wallMs = performance.now() - started;
    if (reply.status !== 201) throw new Error(`streamed job refused: ${reply.status} ${reply.text}`);
    const total = reply.json<{ counts: { total: number } }>().counts.total;
    if (total !== inputs) throw new Error(`streamed job has ${total} tasks, not ${inputs}`);
    return { inputs, wallMs, startRssMiB, peakRssMiB: (await statusKiB(pid, 'VmHWM')) / 1024 };
  } finally {
    await coordinator.stop();
  }
}
