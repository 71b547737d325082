/**
 * Prepared statements on a real SQLite file: compiled once, run with each call's values, and
 * inside a transaction run on the transaction's connection (they see its writes and roll back
 * with it). The PostgreSQL path runs in every store contract suite (`store.postgres.test.ts`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SQLITE_CAPABILITIES } from './capabilities.ts';
import { migrateToLatest } from './migrations/index.ts';
import type { QueryRunner } from './db.ts';
import { prepared, queryRunner } from './prepared.ts';
import type { Database as Schema } from './schema.ts';
import { withStatementCache } from './sqlite.ts';

let dir: string;
let db: Kysely<Schema>;
let runner: QueryRunner;
let prepares: string[];

const NAMES = prepared<{ minQuota: number }, { id: string }>('test.names', (k, p) =>
  k.selectFrom('volunteers').select('id').where('quota', '>=', p('minQuota')).where('strikes', '=', 0).orderBy('id'),
);
const RENAME_QUOTA = prepared<{ id: string; quota: number }, never>('test.quota', (k, p) => k.updateTable('volunteers').set({ quota: p('quota') }).where('id', '=', p('id')));

async function addVolunteer(id: string, quota: number): Promise<void> {
  await db
    .insertInto('volunteers')
    .values({ id, consecutive_valid: 0, valid: 0, invalid: 0, unchecked: 0, errors: 0, quota, strikes: 0, struck_at: 0, first_seen: 1, last_seen: 1 })
    .execute();
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-prepared-'));
  const database = new Database(join(dir, 'db.sqlite'));
  prepares = [];
  const cached = withStatementCache(database, 16);
  const counting = { ...cached, prepare: (sql: string) => (prepares.push(sql), cached.prepare(sql)) };
  db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: counting }) });
  await migrateToLatest(db, SQLITE_CAPABILITIES);
  runner = queryRunner(db, counting);
  await addVolunteer('a', 2);
  await addVolunteer('b', 8);
  await addVolunteer('c', 64);
});

afterEach(async () => {
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('prepared statements', () => {
  it('run with each call’s values, keeping the values fixed when built (strikes = 0)', async () => {
    expect((await runner.run(db, NAMES, { minQuota: 8 })).rows.map((row) => row.id)).toEqual(['b', 'c']);
    expect((await runner.run(db, NAMES, { minQuota: 64 })).rows.map((row) => row.id)).toEqual(['c']);
    await db.updateTable('volunteers').set({ strikes: 1 }).where('id', '=', 'c').execute();
    expect((await runner.run(db, NAMES, { minQuota: 1 })).rows.map((row) => row.id)).toEqual(['a', 'b']);
  });

  it('count rows a write changed', async () => {
    expect((await runner.run(db, RENAME_QUOTA, { id: 'a', quota: 4 })).changes).toBe(1);
    expect((await runner.run(db, RENAME_QUOTA, { id: 'nobody', quota: 4 })).changes).toBe(0);
    expect((await db.selectFrom('volunteers').select('quota').where('id', '=', 'a').executeTakeFirstOrThrow()).quota).toBe(4);
  });

  it('inside a transaction, see its writes and roll back with it', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await runner.run(trx, RENAME_QUOTA, { id: 'a', quota: 100 });
        // A Kysely statement in the same transaction sees the prepared one's write, and back.
        expect((await trx.selectFrom('volunteers').select('quota').where('id', '=', 'a').executeTakeFirstOrThrow()).quota).toBe(100);
        await trx.updateTable('volunteers').set({ quota: 200 }).where('id', '=', 'b').execute();
        expect((await runner.run(trx, NAMES, { minQuota: 100 })).rows.map((row) => row.id)).toEqual(['a', 'b']);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await runner.run(db, NAMES, { minQuota: 100 })).rows).toEqual([]);
  });

  it('name a value that is missing', async () => {
    expect(() => runner.run(db, RENAME_QUOTA, { id: 'a' } as never)).toThrow(/test\.quota: no value for 'quota'/);
  });

  it('build once per store, and run on the store’s statement cache', async () => {
    let builds = 0;
    const counted = prepared<{ minQuota: number }, { id: string }>('test.counted', (k, p) => {
      builds++;
      return k.selectFrom('volunteers').select('id').where('quota', '>=', p('minQuota'));
    });
    await db.transaction().execute(async (trx) => {
      for (const minQuota of [1, 2, 3]) await runner.run(trx, counted, { minQuota });
    });
    await runner.run(db, counted, { minQuota: 4 });
    expect(builds).toBe(1);
    // Every run took the store's handle and its cache: three directly, one through Kysely.
    expect(prepares.filter((sql) => sql === 'select "id" from "volunteers" where "quota" >= ?')).toHaveLength(4);
  });
});
