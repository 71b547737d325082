/**
 * Accepting a streamed job: N primes inputs as NDJSON over HTTP to a coordinator in its own
 * process, timed from the first byte sent to the 201. The coordinator's peak RSS (VmHWM) after the
 * big job is compared with a job a tenth the size in the same bench, each on a fresh coordinator:
 * it must not grow with the job's size.
 */
import { acceptStreamedJob } from '../e2e/support/streamed-job.ts';
import { BENCH_ADMIN_KEY, round } from './common.ts';
import type { Figure } from './report.ts';

export async function acceptInputs(primes: Uint8Array, inputs: number): Promise<Figure> {
  const small = await acceptStreamedJob(primes, Math.round(inputs / 10), 18200, BENCH_ADMIN_KEY);
  const big = await acceptStreamedJob(primes, inputs, 18202, BENCH_ADMIN_KEY);
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
