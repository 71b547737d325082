/** A lease as the coordinator grants it, for tests of the volunteer's side that never run it. */
import type { Lease } from '../../../server/src/protocol/events.ts';

export function plainLease(leaseId: string, deadline: number): Lease {
  return {
    leaseId,
    taskId: `task-${leaseId}`,
    job: { id: 'job', title: null, purpose: null },
    module: { hash: 'a'.repeat(64), url: '/modules/a.wasm' },
    input: Uint8Array.of(1),
    deadline,
    limits: { timeMs: 10_000, maxMemoryBytes: 1 << 20, maxOutputBytes: 64 },
  };
}
