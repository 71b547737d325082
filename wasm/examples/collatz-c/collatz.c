/*
 * A WASI command task in C: reads "FIRST LAST" (decimal, 1 <= FIRST <= LAST) on stdin and writes
 * "START STEPS\n": the number in [FIRST, LAST] whose Collatz sequence takes the most steps to reach
 * 1 (the smallest such number on a tie). Build with Debian's clang and wasi-libc:
 *
 *   clang --target=wasm32-wasi -O2 -s -o collatz.wasm collatz.c
 *
 * wasm32 is an ILP32 target: `long` is 32 bits there, and Collatz values pass 2^32 for starts below
 * 10^6, so every value is a uint64_t. Bad input exits 2 (the task fails as `trap`), so a bad line
 * never passes for a result.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

static uint32_t steps(uint64_t n) {
  uint32_t count = 0;
  while (n != 1) {
    n = (n & 1) ? 3 * n + 1 : n / 2;
    count++;
  }
  return count;
}

int main(void) {
  uint64_t first, last;
  if (scanf("%" SCNu64 " %" SCNu64, &first, &last) != 2 || first < 1 || first > last || last > 100000000) {
    fprintf(stderr, "expected \"FIRST LAST\" with 1 <= FIRST <= LAST <= 100000000\n");
    return 2;
  }
  uint64_t best = first;
  uint32_t most = steps(first);
  for (uint64_t n = first + 1; n <= last; n++) {
    uint32_t s = steps(n);
    if (s > most) {
      most = s;
      best = n;
    }
  }
  printf("%" PRIu64 " %" PRIu32 "\n", best, most);
  return 0;
}
