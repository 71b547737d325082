// sparecycles example task: count the primes in [lo, hi).
// Bytes ABI. Input: u32 LE lo, u32 LE hi (8 bytes). Output: u32 LE count (4 bytes).
// Trial division by odd numbers up to sqrt(n): deliberately CPU-bound, so that a task's cost
// grows with the range and with the size of the numbers, for benchmarks of the grid itself.

/** Reserves `len` bytes for the input; the runtime copies the input there. */
export function alloc(len: i32): i32 {
  return <i32>heap.alloc(<usize>len);
}

function isPrime(n: u32): bool {
  if (n < 2) return false;
  if (n < 4) return true;
  if ((n & 1) == 0) return false;
  // u64 so that d * d cannot wrap for n close to 2^32.
  for (let d: u32 = 3; <u64>d * <u64>d <= <u64>n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

/** Counts the primes p with lo <= p < hi; an empty range (hi <= lo) counts 0. */
export function run(ptr: i32, len: i32): i32 {
  if (len != 8) abort("primes: input must be 8 bytes (u32 LE lo, u32 LE hi)");
  const lo = load<u32>(<usize>ptr);
  const hi = load<u32>(<usize>ptr, 4);
  let count: u32 = 0;
  for (let n = lo; n < hi; n++) {
    if (isPrime(n)) count++;
  }
  const out = heap.alloc(8);
  store<u32>(out, 4);
  store<u32>(out, count, 4);
  return <i32>out;
}
