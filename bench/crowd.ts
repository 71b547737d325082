/**
 * A crowd arriving and leaving at once, for `npm run bench`: what a node does when thousands of
 * volunteers reconnect together (after a restart, or a dead node's volunteers moving to it) and
 * when they all drop. On one SQLite store behind group commit, in this process: `volunteers`
 * site lookups at once (each admission reads its site), then `volunteers` scheduler connections at
 * once (each asks the store to adopt what its volunteer left: nothing, for these new volunteers),
 * then all of them disconnecting at once (each releases its session). Wall time and this
 * process's CPU for each phase; the figure is the first two phases' sum.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '../server/src/config.ts';
import { withGroupCommit } from '../server/src/scheduling/group-commit.ts';
import { createScheduler } from '../server/src/scheduling/index.ts';
import { openSqliteStore } from '../server/src/store/index.ts';
import { round } from './common.ts';
import type { Figure } from './report.ts';

async function timed(work: () => Promise<unknown>): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const used = process.cpuUsage(cpu);
  return { wallMs: round(performance.now() - started, 0), cpuMs: round((used.user + used.system) / 1000, 0) };
}

export async function crowd(volunteers: number): Promise<Figure> {
  const dir = mkdtempSync(join(tmpdir(), 'sparecycles-crowd-'));
  const store = withGroupCommit(await openSqliteStore({ file: join(dir, 'db.sqlite') }));
  const scheduler = createScheduler({
    store,
    now: () => Date.now(),
    newId: () => `lease-${Math.random()}`,
    limits: parseEnv({}).limits,
    moduleUrl: (hash) => `/modules/${hash}.wasm`,
    revoke: () => undefined,
  });
  try {
    await store.createSite({ siteKey: 'crowd-site', name: 'crowd', origins: ['https://example.org'], createdAt: Date.now() });
    const ids = Array.from({ length: volunteers }, (_, i) => i);
    const lookups = await timed(() => Promise.all(ids.map(() => store.getSite('crowd-site'))));
    const connects = await timed(() => Promise.all(ids.map((i) => scheduler.connect({ volunteerId: `crowd-${i}`, sessionId: `session-${i}`, siteKey: 'crowd-site' }))));
    const disconnects = await timed(() => Promise.all(ids.map((i) => scheduler.disconnect(`session-${i}`))));
    return {
      name: 'crowd-at-once',
      unit: `ms for ${volunteers} volunteers to reconnect (site lookup + connect) at once`,
      value: lookups.wallMs + connects.wallMs,
      detail: {
        volunteers,
        siteLookupsMs: lookups.wallMs,
        siteLookupsCpuMs: lookups.cpuMs,
        connectsMs: connects.wallMs,
        connectsCpuMs: connects.cpuMs,
        disconnectsMs: disconnects.wallMs,
        disconnectsCpuMs: disconnects.cpuMs,
      },
    };
  } finally {
    await scheduler.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
