/** What every benchmark shares: the operator key its coordinators run with, and number helpers. */

export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789';

/** `value` to `digits` decimals, as a number (for the report's table). */
export const round = (value: number, digits: number): number => Number(value.toFixed(digits));

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
