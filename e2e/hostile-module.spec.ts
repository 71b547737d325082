/**
 * A module that skipped the upload check reaches a visitor's frame: the table bomb (64 tables of
 * ten million externref, 5 GB of heap once instantiated, enough to crash Chromium's renderer).
 * The coordinator would refuse it at upload (400 `invalid_module`), so the test writes it into
 * the coordinator's SQLite store directly, as a third-party coordinator or a store restored from
 * before the check would hold it. The frame's runtime checks the module's resources before it
 * instantiates anything: each of its tasks fails `invalid`, naming the table, and the same pool
 * goes on completing another job's tasks exactly.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from '@playwright/test';
import { tableBomb } from '../wasm/testing/hostile-modules.ts';
import { cancelJob, createJob, createSite, hostPageUrl, jobResults, uploadBuiltModule, uploadModule } from './support/api.ts';
import { allowSharing, embedFrame } from './support/frame.ts';
import { expectPrimeResults, primeInputs, primeRanges, waitForJobDone } from './support/jobs.ts';
import { E2E } from './support/ports.ts';

let siteKey = '';
let primes = '';
const jobs: string[] = [];

test.beforeAll(async () => {
  siteKey = await createSite([E2E.hostOrigin]);
  primes = await uploadBuiltModule('primes');
});

test.afterEach(async () => {
  for (const id of jobs.splice(0)) await cancelJob(id).catch(() => undefined);
});

/** Stores module bytes as an upload would, but without its checks (the coordinator's own table). */
function insertUnchecked(bytes: Uint8Array): string {
  const hash = createHash('sha256').update(bytes).digest('hex');
  const db = new Database(join(E2E.dataDir, 'sparecycles.db'), { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare('insert into modules (hash, abi, size, bytes, created_at) values (?, ?, ?, ?, ?)').run(hash, 'bytes', bytes.length, Buffer.from(bytes), Date.now());
  } finally {
    db.close();
  }
  return hash;
}

test('a table bomb that skipped the upload check fails `invalid` in the frame, and the pool keeps completing tasks', async ({ page }) => {
  const bomb = await tableBomb();
  // The upload path refuses it…
  await expect(uploadModule(bomb)).rejects.toThrow(/400.*table 0 declares 10,000,000 entries/s);
  // …so it goes into the store behind the coordinator's back.
  const bombHash = insertUnchecked(bomb);
  const bombJob = await createJob({ module: bombHash, inputs: [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)], maxAttempts: 1 });
  jobs.push(bombJob);
  const ranges = primeRanges(12, 20_000);
  const primesJob = await createJob({ module: primes, inputs: primeInputs(ranges) });
  jobs.push(primesJob);

  let crashed = false;
  page.on('crash', () => (crashed = true));
  await page.goto(hostPageUrl(siteKey));
  const frame = embedFrame(page);
  await allowSharing(page);

  const bombDone = await waitForJobDone(bombJob);
  expect(bombDone.counts).toMatchObject({ total: 3, failed: 3, completed: 0 });
  for (const line of await jobResults(bombJob)) {
    expect(line.state).toBe('failed');
    expect(line.errors?.map((e) => e.kind)).toEqual(['invalid']);
    expect(line.errors?.[0]?.message).toMatch(/table 0 declares 10,000,000 entries; the limit is 1,000,000/);
  }

  const primesDone = await waitForJobDone(primesJob);
  expect(primesDone.counts).toMatchObject({ total: ranges.length, completed: ranges.length, failed: 0 });
  await expectPrimeResults(primesJob, ranges);
  expect(crashed).toBe(false);
  // The frame is alive and counting: its control shows the work its pool did.
  await expect(frame.locator('[data-completed]')).not.toHaveAttribute('data-completed', '0');
});
