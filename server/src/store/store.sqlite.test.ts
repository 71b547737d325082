import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { DEFAULT_SITE_SETTINGS } from '../sites/index.ts';
import { SQLITE_CAPABILITIES } from './capabilities.ts';
import { staticMigrationProvider } from './migrations/index.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from './sqlite.ts';
import { describeStoreContract, outcome } from './store.contract.ts';
import { describeReplicaContract } from './store.replicas.contract.ts';
import { describeAccountsContract } from './store.accounts.contract.ts';
import { describeStreamingContract } from './store.streaming.contract.ts';
import { describeEvidenceContract } from './store.evidence.contract.ts';
import { describeBatchContract } from './store.batch.contract.ts';

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sparecycles-store-'));
  dirs.push(dir);
  return join(dir, 'nested', 'coordinator.sqlite');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeStoreContract('sqlite', (options) => openSqliteStore({ file: tempFile(), ...options }));
describeReplicaContract('sqlite', () => openSqliteStore({ file: tempFile() }));
describeAccountsContract('sqlite', () => openSqliteStore({ file: tempFile() }));
describeStreamingContract('sqlite', (options) => openSqliteStore({ file: tempFile(), ...options }));
describeEvidenceContract('sqlite', () => openSqliteStore({ file: tempFile() }));
describeBatchContract('sqlite', (options) => openSqliteStore({ file: tempFile(), ...options }));

describe('SQLite store', () => {
  const hash = 'e'.repeat(64);

  it('keeps accepted results and live leases across close and reopen of the same file', async () => {
    const file = tempFile();
    const first = await openSqliteStore({ file });
    await first.saveModule({ hash, abi: 'bytes', size: 1, bytes: new Uint8Array([1]), createdAt: 1 });
    await first.createJob({
      id: 'j1', moduleHash: hash, redundancy: 1, quorum: 1, deadlineMs: 1000, maxAttempts: 2, priority: 1, createdAt: 1,
      inputs: [new Uint8Array([1]), new Uint8Array([2])],
    });
    let n = 0;
    const { leases } = await first.claimTasks({ volunteerId: 'v', sessionId: 's', siteKey: 'k', slots: 2, now: 10, newLeaseId: () => `l${++n}`, random: () => 0.5 });
    expect(await outcome(first.completeLease({ leaseId: leases[0]!.leaseId, volunteerId: 'v', output: new Uint8Array([9]), cpuMs: 4, now: 20 }))).toBe('accepted');
    await first.close();

    const second = await openSqliteStore({ file });
    expect(await second.getModuleMeta(hash)).toMatchObject({ hash, size: 1 });
    expect((await second.getJob('j1'))?.counts).toMatchObject({ completed: 1, running: 1 });
    expect(await second.listResults('j1', 0, 1)).toEqual([{ index: 0, state: 'completed', output: new Uint8Array([9]) }]);
    expect(await outcome(second.completeLease({ leaseId: leases[0]!.leaseId, volunteerId: 'v', output: new Uint8Array([9]), cpuMs: 4, now: 30 }))).toBe('duplicate');
    expect(await outcome(second.completeLease({ leaseId: leases[1]!.leaseId, volunteerId: 'v', output: new Uint8Array([8]), cpuMs: 4, now: 30 }))).toBe('accepted');
    expect((await second.getJob('j1'))?.state).toBe('completed');
    await second.close();
  });

  it('runs migrations once: reopening applies nothing and keeps the data', async () => {
    const file = tempFile();
    await (await openSqliteStore({ file })).close();
    await (await openSqliteStore({ file })).close();
    const raw = new Database(file, { readonly: true });
    try {
      const applied = raw.prepare('select name from kysely_migration order by name').all() as { name: string }[];
      expect(applied.map((r) => r.name)).toEqual(['000001-initial', '000002-replicas', '000003-adaptive-switch', '000004-strikes', '000006-site-settings', '000007-job-site', '000008-accounts', '000009-streaming', '000010-lease-address', '000011-nodes', '000012-unused-lease-index', '000013-live-lease-indexes']);
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = raw.prepare("select name from sqlite_master where type = 'table' and name not like 'kysely%' order by name").all();
      expect(tables.map((t) => (t as { name: string }).name)).toEqual(['api_keys', 'jobs', 'leases', 'module_owners', 'modules', 'nodes', 'sites', 'tasks', 'volunteers']);
    } finally {
      raw.close();
    }
  });

  it('upgrades a version-2 database in place: its jobs keep adaptive replication', async () => {
    const file = tempFile();
    mkdirSync(dirname(file), { recursive: true });
    const old = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    const migrated = await new Migrator({ db: old, provider: staticMigrationProvider(SQLITE_CAPABILITIES) }).migrateTo('000002-replicas');
    expect(migrated.error).toBeUndefined();
    await old.insertInto('modules').values({ hash, abi: 'bytes', size: 1, bytes: new Uint8Array([1]), created_at: 1 }).execute();
    await old
      .insertInto('jobs')
      .values({ id: 'old-job', module_hash: hash, title: null, state: 'active', redundancy: 2, quorum: 2, deadline_ms: 1000, max_attempts: 3, priority: 1, created_at: 1, finished_at: null })
      .execute();
    await old.destroy();

    const store = await openSqliteStore({ file });
    try {
      expect(await store.getJob('old-job')).toMatchObject({ redundancy: 2, quorum: 2, adaptiveReplication: true });
    } finally {
      await store.close();
    }
  });

  it('upgrades a version-4 database across the gap at 000005: its sites get default settings, its jobs no purpose', async () => {
    const file = tempFile();
    mkdirSync(dirname(file), { recursive: true });
    const old = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    const migrated = await new Migrator({ db: old, provider: staticMigrationProvider(SQLITE_CAPABILITIES) }).migrateTo('000004-strikes');
    expect(migrated.error).toBeUndefined();
    await old.insertInto('sites').values({ site_key: 'old-site', name: 'Old', origins: '["https://old.example"]', created_at: 1 }).execute();
    await old.insertInto('modules').values({ hash, abi: 'bytes', size: 1, bytes: new Uint8Array([1]), created_at: 1 }).execute();
    await old
      .insertInto('jobs')
      .values({ id: 'old-job', module_hash: hash, title: 'Old', state: 'active', redundancy: 1, quorum: 1, adaptive: 1, deadline_ms: 1000, max_attempts: 3, priority: 1, created_at: 1, finished_at: null })
      .execute();
    await old.destroy();

    const store = await openSqliteStore({ file });
    try {
      expect(await store.getSite('old-site')).toEqual({
        siteKey: 'old-site',
        name: 'Old',
        origins: ['https://old.example'],
        createdAt: 1,
        owner: 'operator',
        settings: DEFAULT_SITE_SETTINGS,
      });
      const job = await store.getJob('old-job');
      expect(job).toMatchObject({ title: 'Old' });
      expect(job).not.toHaveProperty('purpose');
    } finally {
      await store.close();
    }
  });

  it('upgrades a version-7 database: what the operator key made stays the operator\'s; its tasks all exist, its jobs are closed, its settled tasks have a completion order', async () => {
    const file = tempFile();
    mkdirSync(dirname(file), { recursive: true });
    const old = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    const migrated = await new Migrator({ db: old, provider: staticMigrationProvider(SQLITE_CAPABILITIES) }).migrateTo('000007-job-site');
    expect(migrated.error).toBeUndefined();
    await old.insertInto('sites').values({ site_key: 'old-site', name: 'Old', origins: '["https://old.example"]', created_at: 1, settings: '{}' }).execute();
    await old.insertInto('modules').values({ hash, abi: 'bytes', size: 1, bytes: new Uint8Array([1]), created_at: 3 }).execute();
    await old
      .insertInto('jobs')
      .values({ id: 'old-job', module_hash: hash, title: 'Old', state: 'active', redundancy: 1, quorum: 1, adaptive: 1, deadline_ms: 1000, max_attempts: 3, priority: 1, created_at: 1, finished_at: null })
      .execute();
    const task = (idx: number, state: string) => ({
      job_id: 'old-job', idx, input: new Uint8Array([idx]), state, attempts: 0, output: state === 'completed' ? new Uint8Array([idx]) : null, errors: null,
      updated_at: 1, live: 0, results: 0, wanted: 1, needed: 1, failures: 0, releases: 0,
    });
    await old.insertInto('tasks').values([task(0, 'pending'), task(1, 'completed'), task(2, 'completed')]).execute();
    await old.destroy();

    const store = await openSqliteStore({ file });
    try {
      expect((await store.getSite('old-site'))?.owner).toBe('operator');
      expect((await store.getJob('old-job'))?.owner).toBe('operator');
      expect(await store.countActiveJobs('operator')).toBe(1);
      expect(await store.getModuleMeta(hash, 'operator')).toEqual({ hash, abi: 'bytes', size: 1, createdAt: 3 });
      expect(await store.getModuleMeta(hash, 'k_someone')).toBeUndefined();
      // The operator's upload stays an upload: uploading it again is not a new one.
      expect(await store.saveModule({ hash, abi: 'bytes', size: 1, bytes: new Uint8Array([1]), createdAt: 9 })).toEqual({ created: false });
      expect(await store.listKeys()).toEqual([]);
      expect(await store.getJob('old-job')).toMatchObject({ open: false, counts: { total: 3, pending: 1, completed: 2 } });
      expect((await store.listSettled('old-job', 0, 10)).map((t) => t.index)).toEqual([1, 2]);
      const {
        leases: [lease],
      } = await store.claimTasks({ volunteerId: 'v', sessionId: 's', siteKey: 'k', slots: 1, now: 10, newLeaseId: () => 'l1', random: () => 0.5 });
      await store.completeLease({ leaseId: lease!.leaseId, volunteerId: 'v', output: new Uint8Array([0]), cpuMs: 1, now: 11 });
      expect((await store.listSettled('old-job', 0, 10)).map((t) => t.index)).toEqual([1, 2, 0]);
      expect((await store.getJob('old-job'))?.state).toBe('completed');
    } finally {
      await store.close();
    }
  });

  it('a crowd of reads and a failing transaction at once: each is answered, only the failure fails, and the connection is free after', async () => {
    const store = await openSqliteStore({ file: tempFile() });
    try {
      await store.createSite({ siteKey: 'crowd-site', name: 'crowd', origins: ['https://example.org'], createdAt: 1 });
      const before = Array.from({ length: 2000 }, () => store.getSite('crowd-site'));
      // A job of a module that does not exist: its transaction fails on the foreign key and rolls back.
      const failing = store.createJob({ id: 'job-orphan', moduleHash: 'f'.repeat(64), redundancy: 1, quorum: 1, deadlineMs: 1000, maxAttempts: 1, priority: 1, createdAt: 1, inputs: [new Uint8Array([1])] });
      const after = Array.from({ length: 2000 }, () => store.getSite('crowd-site'));
      await expect(failing).rejects.toThrow();
      const sites = await Promise.all([...before, ...after]);
      expect(sites.every((site) => site?.name === 'crowd')).toBe(true);
      expect(await store.getJob('job-orphan')).toBeUndefined();
      expect((await store.getSite('crowd-site'))?.name).toBe('crowd');
    } finally {
      await store.close();
    }
  });

  it('enforces foreign keys and closes idempotently', async () => {
    const file = tempFile();
    const store = await openSqliteStore({ file });
    await store.close();
    await store.close();
    const raw = new Database(file);
    raw.pragma('foreign_keys = ON');
    try {
      expect(() =>
        raw.prepare("insert into jobs (id, module_hash, state, redundancy, quorum, deadline_ms, max_attempts, priority, created_at) values ('x', 'nope', 'active', 1, 1, 1, 1, 1, 1)").run(),
      ).toThrow(/FOREIGN KEY/);
    } finally {
      raw.close();
    }
  });

  it('refuses a path whose directory cannot be created, and a file that is not a database', async () => {
    const blocker = tempFile().replace(/nested.*$/, 'blocker');
    writeFileSync(blocker, 'not a directory');
    await expect(openSqliteStore({ file: join(blocker, 'db.sqlite') })).rejects.toThrow(/EEXIST|ENOTDIR/);
    const garbage = tempFile().replace(/nested.*$/, 'garbage.sqlite');
    writeFileSync(garbage, 'this is not an SQLite database, just text that is long enough to have a header'.repeat(20));
    await expect(openSqliteStore({ file: garbage })).rejects.toThrow(/not a database/);
  });
});
