/**
 * A lock handed to its waiters one at a time, in the order they asked. Kysely's SQLite driver
 * guards its one connection with a lock that, on each release, wakes every waiter; each checks
 * and waits again, so N queries waiting cost N² wake-ups: 20,000 lookups at once (volunteers
 * reconnecting together, each admission reading its site) took 43 s of CPU. Here a release wakes
 * only the next waiter.
 */
export class FifoLock {
  #held = false;
  #waiters: (() => void)[] = [];
  /**
   * Index of the next waiter: shifting a long array on each release would copy it each time.
   * Served entries stay until the queue empties (it does whenever the store catches up).
   */
  #next = 0;

  /** Resolves once the lock is this caller's. */
  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Hands the lock to the next waiter, or frees it. Only its holder may call it. */
  release(): void {
    if (!this.#held) throw new Error('FifoLock released while not held');
    if (this.#next < this.#waiters.length) {
      const next = this.#waiters[this.#next]!;
      this.#next += 1;
      if (this.#next === this.#waiters.length) {
        this.#waiters = [];
        this.#next = 0;
      }
      next();
      return;
    }
    this.#held = false;
  }

  /** Callers waiting now. */
  get waiting(): number {
    return this.#waiters.length - this.#next;
  }
}
