/**
 * An independent TypeScript computation of the Collatz example's answer, for its tests. Plain
 * numbers are exact here: for starts up to 10^8 the values stay far below 2^53.
 */
export function collatzSteps(start: number): number {
  let n = start;
  let steps = 0;
  while (n !== 1) {
    n = n % 2 === 1 ? 3 * n + 1 : n / 2;
    steps++;
  }
  return steps;
}

/** The line the C module prints for "FIRST LAST": the start with the most steps (smallest on a tie). */
export function collatzAnswer(first: number, last: number): string {
  let best = first;
  let most = collatzSteps(first);
  for (let n = first + 1; n <= last; n++) {
    const steps = collatzSteps(n);
    if (steps > most) {
      most = steps;
      best = n;
    }
  }
  return `${best} ${most}\n`;
}
