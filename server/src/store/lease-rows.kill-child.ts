/**
 * A coordinator's store killed with a grant unwritten (`lease-rows.sqlite.test.ts`): opens the
 * store at argv[2], grants `written` (then written by a verb that reads leases) and `unwritten`
 * (kept in memory), says `ready` and waits for its SIGKILL.
 */
import { openSqliteStore } from './sqlite.ts';

const store = await openSqliteStore({ file: process.argv[2]! });
const claim = (volunteerId: string, leaseId: string) => ({
  verb: 'claim' as const,
  request: { volunteerId, sessionId: `session-${volunteerId}`, siteKey: 'site', slots: 1, now: 1000, newLeaseId: () => leaseId, random: () => 0.5 },
});
await store.answerBatch([claim('vw', 'written')]);
await store.deferDeadlines([], 0);
await store.answerBatch([claim('vu', 'unwritten')]);
process.stdout.write('ready\n');
setInterval(() => undefined, 1000);
