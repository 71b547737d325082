/**
 * The hot path's statements, built with Kysely once and run many times. Building a query with
 * Kysely's builder and compiling it cost the coordinator about as much CPU as SQLite took to run
 * it (a profile of `bench/throughput.ts`), and every result and claim runs the same dozen shapes.
 * So a statement is written as usual, with stand-ins (`p('id')`) where its values go; it is
 * compiled on first use per store, and later runs only swap the values into the compiled
 * parameter list.
 *
 * Inside a SQLite transaction a statement runs on better-sqlite3 directly: Kysely's SQLite driver
 * keeps one connection, so the transaction that holds it is the one any statement on it joins,
 * and the synchronous call spares Kysely's executor. Everywhere else (outside a transaction,
 * PostgreSQL) it goes through Kysely's `executeQuery`, which takes the transaction's connection.
 */
import { CompiledQuery, type Compilable, type Kysely, type SqliteDatabase } from 'kysely';
import type { Db, Placeholders, PreparedQuery, QueryRunner, Ran, StoreContext } from './db.ts';
import type { Database } from './schema.ts';

const PLACEHOLDER = Symbol('prepared statement value');

interface Placeholder {
  readonly [PLACEHOLDER]: string;
}

const isPlaceholder = (value: unknown): value is Placeholder => typeof value === 'object' && value !== null && PLACEHOLDER in value;

/**
 * Declares a statement. A statement whose shape depends on its input (a list's length, which
 * columns change) gets a key that says so, e.g. `leases.end:state,ended_at`.
 */
export function prepared<P, O>(key: string, build: (db: Kysely<Database>, p: Placeholders<P>) => Compilable<O>): PreparedQuery<P, O> {
  return { key, build };
}

/** A compiled statement and, per parameter, the value's name or the value fixed at build time. */
interface Template {
  compiled: CompiledQuery;
  slots: ({ name: string } | { fixed: unknown })[];
}

/**
 * The runner of a store. `sqlite` (the store's better-sqlite3 handle, with its statement cache)
 * lets statements inside a transaction run on it synchronously.
 */
export function queryRunner(db: Kysely<Database>, sqlite?: SqliteDatabase): QueryRunner {
  const templates = new Map<string, Template>();
  const placeholder = (name: string): never => ({ [PLACEHOLDER]: name }) as never;

  function templateOf(query: PreparedQuery<unknown, unknown>): Template {
    const known = templates.get(query.key);
    if (known) return known;
    const compiled = query.build(db, placeholder).compile();
    const slots = compiled.parameters.map((value) => (isPlaceholder(value) ? { name: value[PLACEHOLDER] } : { fixed: value }));
    const template = { compiled, slots };
    templates.set(query.key, template);
    return template;
  }

  return {
    run<P, O>(handle: Db, query: PreparedQuery<P, O>, values: P): Ran<O> | Promise<Ran<O>> {
      const { compiled, slots } = templateOf(query as PreparedQuery<unknown, unknown>);
      const given = values as Record<string, unknown>;
      const parameters = slots.map((slot) => {
        if ('fixed' in slot) return slot.fixed;
        const value = given[slot.name];
        if (value === undefined) throw new Error(`prepared statement ${query.key}: no value for '${slot.name}'`);
        return value;
      });
      if (sqlite && handle.isTransaction) {
        const statement = sqlite.prepare(compiled.sql);
        if (statement.reader) return { rows: statement.all(parameters) as O[], changes: 0 };
        return { rows: [], changes: Number(statement.run(parameters).changes) };
      }
      return handle.executeQuery<O>(CompiledQuery.raw(compiled.sql, parameters)).then((result) => ({
        rows: [...result.rows],
        changes: Number(result.numAffectedRows ?? 0n),
      }));
    },
  };
}

/** Longest list one compiled form takes (longer lists run in chunks of it). */
const LIST_CHUNK = 64;

/**
 * The length to compile a list of `n` values for: the next power of two up to `LIST_CHUNK`, so a
 * statement over a list has a handful of compiled forms, not one per length.
 */
function listLength(n: number): number {
  let length = 1;
  while (length < n && length < LIST_CHUNK) length *= 2;
  return length;
}

/** Stand-ins for a list of `length` values, named `name0`, `name1`, … (see `runOverList`). */
export function listPlaceholders<T>(p: Placeholders<Record<string, unknown>>, name: string, length: number): T[] {
  return Array.from({ length }, (_, n) => p(`${name}${n}`) as T);
}

/**
 * Runs `statementFor(length)` over `list`: in chunks of at most `LIST_CHUNK`, each padded to the
 * length it is compiled for (`listLength`) by repeating its last value, which `in (…)` does not
 * mind; the chunk's values named `name0`, `name1`, … beside `values`. Every chunk's rows, in order.
 */
export async function runOverList<O>(
  ctx: Pick<StoreContext, 'run'>,
  trx: Db,
  statementFor: (length: number) => PreparedQuery<Record<string, unknown>, O>,
  name: string,
  list: readonly unknown[],
  values: Record<string, unknown> = {},
): Promise<O[]> {
  const rows: O[] = [];
  for (let start = 0; start < list.length; start += LIST_CHUNK) {
    const chunk = list.slice(start, start + LIST_CHUNK);
    const length = listLength(chunk.length);
    const given: Record<string, unknown> = { ...values };
    for (let n = 0; n < length; n++) given[`${name}${n}`] = chunk[Math.min(n, chunk.length - 1)];
    rows.push(...(await ctx.run(trx, statementFor(length), given)).rows);
  }
  return rows;
}
