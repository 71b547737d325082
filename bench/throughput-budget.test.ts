import { expect, it } from 'vitest';
import { coordinatorBudget } from './throughput.ts';

it("gives the coordinator what the cores leave at the goal's rate once the clients took their share", () => {
  // 0.6 of 25,000/s is 15,000/s: 1/15,000 s per result on each of 2 cores, less the clients' 0.045 ms.
  const budget = coordinatorBudget(25_000, 0.6, 2, 0.045);
  expect(budget.oneThreadMs).toBeCloseTo(1 / 15, 6);
  expect(budget.allThreadsMs).toBeCloseTo(2 / 15 - 0.045, 6);
  // Clients that need more than the cores give leave nothing.
  expect(coordinatorBudget(25_000, 0.6, 2, 0.2).allThreadsMs).toBe(0);
});
