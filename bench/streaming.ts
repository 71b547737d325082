/**
 * Accepting a streamed job: N primes inputs as NDJSON (`{"base64": …}` lines) over HTTP to a
 * coordinator in its own process, timed from the first byte sent to the 201. The coordinator's
 * peak RSS (VmHWM) after the big job is compared with a run of a tenth the size in the same bench,
 * each on a fresh coordinator: it must not grow with the job's size.
 */
import { readFile } from 'node:fs/promises';
import { encodePrimesInput } from '../wasm/tasks/primes/codec.ts';
import { apiClient } from '../e2e/support/api.ts';
import { startCoordinatorProcess } from '../e2e/support/coordinator-process.ts';
import { postStream } from '../server/src/http/stream-testing.ts';
import { BENCH_ADMIN_KEY, round } from './common.ts';
import type { Figure } from './report.ts';

/** A `/proc/PID/status` field in KiB (VmHWM: peak resident set; VmRSS: now). */
async function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** The body: the options line, then `count` input lines, in chunks of about 64 KiB. */
async function* ndjsonBody(moduleHash: string, count: number): AsyncGenerator<Buffer> {
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

interface Accepted {
  inputs: number;
  wallMs: number;
  startRssMiB: number;
  peakRssMiB: number;
}

async function acceptOnce(primes: Uint8Array, inputs: number, port: number): Promise<Accepted> {
  const coordinator = await startCoordinatorProcess({ port, dataDir: `.tmp/bench-accept-${inputs}`, adminKey: BENCH_ADMIN_KEY });
  try {
    const pid = coordinator.child.pid!;
    const api = apiClient(coordinator.url, BENCH_ADMIN_KEY);
    const hash = await api.uploadModule(primes);
    const startRssMiB = (await statusKiB(pid, 'VmHWM')) / 1024;
    const started = performance.now();
    const reply = await postStream(`${coordinator.url}/api/v1/jobs`, BENCH_ADMIN_KEY, 'application/x-ndjson', ndjsonBody(hash, inputs));
    const wallMs = performance.now() - started;
    if (reply.status !== 201) throw new Error(`streamed job refused: ${reply.status} ${reply.text}`);
    const total = reply.json<{ counts: { total: number } }>().counts.total;
    if (total !== inputs) throw new Error(`streamed job has ${total} tasks, not ${inputs}`);
    return { inputs, wallMs, startRssMiB, peakRssMiB: (await statusKiB(pid, 'VmHWM')) / 1024 };
  } finally {
    await coordinator.stop();
  }
}

/** Accepts a job of `inputs` inputs and one of a tenth the size, each on a fresh coordinator. */
export async function acceptInputs(primes: Uint8Array, inputs: number): Promise<Figure> {
  const small = await acceptOnce(primes, Math.round(inputs / 10), 18200);
  const big = await acceptOnce(primes, inputs, 18202);
  return {
    name: 'accept-1m-inputs',
    unit: 'inputs/s',
    value: round(big.inputs / (big.wallMs / 1000), 0),
    detail: {
      inputs: big.inputs,
      wallMs: round(big.wallMs, 0),
      peakRssMiB: round(big.peakRssMiB, 1),
      rssBeforeMiB: round(big.startRssMiB, 1),
      smallInputs: small.inputs,
      smallInputsPerSecond: round(small.inputs / (small.wallMs / 1000), 0),
      smallPeakRssMiB: round(small.peakRssMiB, 1),
      peakRssGrowthMiB: round(big.peakRssMiB - small.peakRssMiB, 1),
    },
  };
}

