import { describe, expect, it } from 'vitest';
import { FifoLock } from './fifo-lock.ts';

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('FifoLock', () => {
  it('gives the lock at once when free, and to waiters one release at a time, in the order they asked', async () => {
    const lock = new FifoLock();
    const order: number[] = [];
    await lock.acquire();
    const waiters = [1, 2, 3].map((n) => lock.acquire().then(() => order.push(n)));
    await settled();
    expect(order).toEqual([]);
    expect(lock.waiting).toBe(3);
    lock.release();
    await settled();
    // One release, one waiter woken: the others still wait.
    expect(order).toEqual([1]);
    expect(lock.waiting).toBe(2);
    lock.release();
    lock.release();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    lock.release();
    // Free again: the next caller gets it at once, and a second one waits.
    await lock.acquire();
    let second = false;
    void lock.acquire().then(() => (second = true));
    await settled();
    expect(second).toBe(false);
    lock.release();
    await settled();
    expect(second).toBe(true);
    lock.release();
    expect(() => lock.release()).toThrow(/not held/);
  });
});
