/**
 * How the idle-connections bench spreads its volunteers (pure): over coordinator processes (a
 * process may hold 20,000 open files here), client processes, and loopback source addresses (one
 * source address has about 28,000 ephemeral ports, and a per-address connection cap may apply).
 */

export interface SpreadLimits {
  /** Most volunteers one coordinator process holds (its open-file limit, less its own files). */
  perCoordinator: number;
  /** Most volunteers one client process opens (its own open-file limit). */
  perClient: number;
  /** Most volunteers from one source address to one coordinator. */
  perAddress: number;
}

export const DEFAULT_SPREAD: SpreadLimits = { perCoordinator: 17_500, perClient: 18_000, perAddress: 1_000 };

/** A run of consecutive volunteers one client opens to one coordinator from one source address. */
export interface Batch {
  coordinator: number;
  localAddress: string;
  /** Global index of the batch's first volunteer (volunteer ids are derived from it). */
  first: number;
  count: number;
}

export interface Spread {
  coordinators: number;
  /** One list of batches per client process. */
  clients: Batch[][];
  addresses: number;
}

/** 127.0.0.2, 127.0.0.3, …: the `n`th source address (127.0.0.1 is left to everything else). */
export function sourceAddress(n: number): string {
  const host = n + 2;
  if (host > 254 * 256) throw new RangeError(`source address ${n} is past 127.0.254.255`);
  return `127.0.${Math.floor(host / 256)}.${host % 256}`;
}

/**
 * Volunteer `i` goes to coordinator `i mod K` (even load), to client `floor(i / perClient)`, and
 * from a source address shared by at most `perAddress` volunteers of one coordinator.
 */
export function spreadVolunteers(total: number, limits: SpreadLimits = DEFAULT_SPREAD): Spread {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`volunteers must be a positive whole number, not ${total}`);
  const coordinators = Math.ceil(total / limits.perCoordinator);
  const clientCount = Math.ceil(total / limits.perClient);
  const clients: Batch[][] = Array.from({ length: clientCount }, () => []);
  let addresses = 0;
  // Each client's share is split per coordinator, then into address-sized runs.
  for (let client = 0; client < clientCount; client++) {
    const from = client * limits.perClient;
    const to = Math.min(total, from + limits.perClient);
    for (let coordinator = 0; coordinator < coordinators; coordinator++) {
      // Volunteers i in [from, to) with i mod K = coordinator.
      const firstOwn = from + ((coordinator - (from % coordinators) + coordinators) % coordinators);
      const own = firstOwn < to ? Math.ceil((to - firstOwn) / coordinators) : 0;
      for (let done = 0; done < own; done += limits.perAddress) {
        const count = Math.min(limits.perAddress, own - done);
        clients[client]!.push({ coordinator, localAddress: sourceAddress(addresses), first: firstOwn + done * coordinators, count });
        addresses++;
      }
    }
  }
  return { coordinators, clients, addresses };
}

/** The `p`-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}
