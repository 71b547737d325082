/**
 * Misbehaving volunteers for the chaos suite, each a real Socket.IO client of `/volunteer`:
 * - a **liar**: the real runtime (lease loop, module fetch and hash check, wasm in a pool) whose
 *   results are corrupted on the way out, as a modified client would send them. Each liar adds
 *   its own offset to a primes count, so two liars never agree with each other (no collusion:
 *   `docs/scheduling.md` says what colluders can do).
 * - a **hoarder**: leases as much as it is granted, at a steady pace, and never answers.
 */
import { compileTask } from '../../wasm/host/index.ts';
import { inlineWorkers } from '../../client/src/agent/workers.ts';
import { newVolunteerId } from '../../client/src/runtime/ids.ts';
import { createModuleSource, httpBytes } from '../../client/src/runtime/modules.ts';
import { createMemoryOutbox } from '../../client/src/runtime/outbox.ts';
import { createPool, type Pool } from '../../client/src/runtime/pool.ts';
import { connectVolunteer } from '../../client/src/runtime/socket.ts';
import { systemTimers } from '../../client/src/runtime/timers.ts';
import { createVolunteerLoop, type VolunteerStats } from '../../client/src/runtime/volunteer-loop.ts';
import type { Lease } from '../../server/src/protocol/events.ts';

export interface ChaosVolunteer {
  readonly volunteerId: string;
  stop(): Promise<void>;
}

export interface Liar extends ChaosVolunteer {
  stats(): VolunteerStats;
}

/** A pool whose successful u32 LE outputs come back `offset` higher: plausible, and wrong. */
function lyingPool(inner: Pool, offset: number): Pool {
  return {
    get size() {
      return inner.size;
    },
    free: () => inner.free(),
    cancel: (id) => inner.cancel(id),
    close: () => inner.close(),
    async run(task) {
      const outcome = await inner.run(task);
      if (!outcome.ok || outcome.output.byteLength !== 4) return outcome;
      const output = new Uint8Array(4);
      const view = new DataView(outcome.output.buffer, outcome.output.byteOffset, 4);
      new DataView(output.buffer).setUint32(0, (view.getUint32(0, true) + offset) >>> 0, true);
      return { ...outcome, output };
    },
  };
}

/** Starts a liar with one inline worker; resolves once it is connected and asking for work. */
export async function startLiar(options: { url: string; siteKey: string; offset: number }): Promise<Liar> {
  if (options.offset === 0) throw new Error('a liar needs a nonzero offset');
  const volunteerId = newVolunteerId();
  const connection = connectVolunteer({ url: options.url, auth: { siteKey: options.siteKey, volunteerId, agent: 'node' } });
  const loop = createVolunteerLoop({
    link: connection.link,
    modules: createModuleSource({ fetchBytes: httpBytes(options.url), compile: compileTask }),
    pool: lyingPool(createPool({ size: 1, create: inlineWorkers }), options.offset),
    outbox: createMemoryOutbox(),
    now: Date.now,
    random: Math.random,
    timers: systemTimers,
  });
  await connection.connected;
  loop.start();
  return {
    volunteerId,
    stats: loop.stats,
    async stop() {
      loop.stop();
      connection.close();
    },
  };
}

export interface Hoarder extends ChaosVolunteer {
  /** Every lease it was granted, with when. */
  readonly grants: { at: number; lease: Lease }[];
  /** How many leases each of its requests was granted, in order. */
  readonly grantSizes: number[];
}

/**
 * Starts a hoarder announcing `workers` workers (so the prefetch bound allows `2 × workers`
 * leases) and asking for that many every `everyMs`; it never answers a lease.
 */
export async function startHoarder(options: { url: string; siteKey: string; workers: number; everyMs: number }): Promise<Hoarder> {
  const volunteerId = newVolunteerId();
  const connection = connectVolunteer({ url: options.url, auth: { siteKey: options.siteKey, volunteerId, agent: 'node' } });
  await connection.connected;
  const grants: { at: number; lease: Lease }[] = [];
  const grantSizes: number[] = [];
  let stopped = false;
  let asking: Promise<void> = Promise.resolve();

  const ask = async (): Promise<void> => {
    const reply = await connection.link.lease({ slots: options.workers * 2, workers: options.workers });
    if (!('leases' in reply)) throw new Error(`the hoarder's lease request was refused: ${JSON.stringify(reply)}`);
    const at = Date.now();
    grantSizes.push(reply.leases.length);
    for (const lease of reply.leases) grants.push({ at, lease });
  };
  const timer = setInterval(() => {
    if (stopped) return;
    asking = asking.then(ask).catch(() => undefined);
  }, options.everyMs);
  await ask();

  return {
    volunteerId,
    grants,
    grantSizes,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await asking;
      connection.close();
    },
  };
}
