/**
 * Where most chaos cases start: a real coordinator in this process (SQLite file, scheduler,
 * HTTP and `/volunteer` on a loopback port), a registered site and the primes module uploaded.
 */
import { join } from 'node:path';
import { startTestCoordinator, TEST_ADMIN_KEY, type TestCoordinator } from '../../server/src/http/testing.ts';
import { chaosApi, type ChaosApi } from './chaos-jobs.ts';

export interface ChaosGrid {
  coordinator: TestCoordinator;
  api: ChaosApi;
  siteKey: string;
  /** The primes module's hash. */
  primes: string;
  /** The coordinator's SQLite file, for `readJobLeases`. */
  dbFile: string;
}

export async function startChaosGrid(): Promise<ChaosGrid> {
  const coordinator = await startTestCoordinator();
  await coordinator.listen();
  const api = chaosApi(coordinator.url, TEST_ADMIN_KEY);
  const siteKey = await api.createSite(['http://localhost:9999']);
  const primes = await api.uploadBuiltModule('primes');
  return { coordinator, api, siteKey, primes, dbFile: join(coordinator.dir, 'sparecycles.db') };
}
