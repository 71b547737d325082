/**
 * An independent computation of the `primes` task's answer, for tests: a segmented sieve of
 * Eratosthenes, a different algorithm from the module's trial division, so a shared mistake in
 * both is unlikely.
 */

const SEGMENT = 1 << 16;

function basePrimes(limit: number): number[] {
  const composite = new Uint8Array(limit + 1);
  const primes: number[] = [];
  for (let n = 2; n <= limit; n++) {
    if (composite[n]) continue;
    primes.push(n);
    for (let m = n * n; m <= limit; m += n) composite[m] = 1;
  }
  return primes;
}

/** Counts the primes p with lo <= p < hi (integers up to 2^32); 0 when hi <= lo. */
export function countPrimesReference(lo: number, hi: number): number {
  const from = Math.max(lo, 2);
  if (hi <= from) return 0;
  let limit = Math.floor(Math.sqrt(hi - 1));
  while ((limit + 1) * (limit + 1) <= hi - 1) limit++;
  const primes = basePrimes(limit);
  let count = 0;
  for (let start = from; start < hi; start += SEGMENT) {
    const end = Math.min(hi, start + SEGMENT);
    const composite = new Uint8Array(end - start);
    for (const p of primes) {
      if (p * p >= end) break;
      for (let m = Math.max(p * p, Math.ceil(start / p) * p); m < end; m += p) composite[m - start] = 1;
    }
    for (const c of composite) if (c === 0) count++;
  }
  return count;
}
