/**
 * Refusals on the socket, logged as one summary line per kind and interval (with counts and the
 * addresses seen most), never one line per event: a flood of bad events must not become a flood
 * of log lines. The first refusal of a quiet period is logged at once; the rest are summed until
 * the interval ends.
 */

export interface RefusalLogger {
  warn(obj: object, msg?: string): void;
}

export interface RefusalLog {
  /** Counts one refusal of `kind` from `address`. */
  count(kind: string, address: string): void;
  /** Writes what is pending and stops the timer. */
  close(): void;
}

interface Pending {
  count: number;
  addresses: Map<string, number>;
}

/** Addresses named in one summary line, the most frequent first. */
const NAMED_ADDRESSES = 5;

export function createRefusalLog(log: RefusalLogger, intervalMs = 10_000): RefusalLog {
  const pending = new Map<string, Pending>();
  let timer: NodeJS.Timeout | undefined;

  const write = (): void => {
    for (const [kind, { count, addresses }] of pending) {
      const top = [...addresses].sort((a, b) => b[1] - a[1]).slice(0, NAMED_ADDRESSES);
      log.warn({ kind, count, intervalMs, addresses: Object.fromEntries(top), otherAddresses: Math.max(0, addresses.size - top.length) }, 'volunteer socket refusals');
    }
    pending.clear();
  };
  // While refusals keep coming the timer keeps running: one line per kind and interval.
  const tick = (): void => {
    timer = undefined;
    if (pending.size === 0) return;
    write();
    arm();
  };
  const arm = (): void => {
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };

  return {
    count(kind, address) {
      const entry = pending.get(kind) ?? { count: 0, addresses: new Map<string, number>() };
      entry.count += 1;
      // Bounded: past a thousand distinct addresses in one interval, only the count grows.
      if (entry.addresses.has(address) || entry.addresses.size < 1000) entry.addresses.set(address, (entry.addresses.get(address) ?? 0) + 1);
      pending.set(kind, entry);
      if (!timer) {
        // The first of a quiet period goes out now, so a single refusal is seen without waiting.
        write();
        arm();
      }
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      write();
    },
  };
}
