/**
 * A throwaway PostgreSQL cluster for tests, benchmarks and `npm run cluster`: `initdb` into a
 * temporary directory, `pg_ctl start` on a free loopback port, one database created, and `stop()`
 * stops the server and removes the directory (also done when the process exits).
 *
 * PostgreSQL refuses to run as root, so as root the directory is handed to the `postgres` user and
 * every command goes through `runuser -u postgres --`; as anyone else the commands run directly.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Where Debian's `postgresql` packages put each major version's programs (`VERSION/bin`). */
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/** The newest Debian-installed PostgreSQL's programs, else version 15's path (for the error message). */
export function defaultPgbin(): string {
  let versions: number[] = [];
  try {
    versions = readdirSync(DEBIAN_PG_ROOT).filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    // No PostgreSQL from Debian here.
  }
  const newest = versions.sort((a, b) => b - a).find((version) => existsSync(join(DEBIAN_PG_ROOT, String(version), 'bin', 'initdb')));
  return join(DEBIAN_PG_ROOT, String(newest ?? 15), 'bin');
}

/** Options of `startThrowawayPostgres`. */
export interface ThrowawayPostgresOptions {
  /**
   * `fsync=off` (and no synchronous commit): much faster, safe only because the data is thrown
   * away. Fine for tests; leave it off (the default) for benchmarks whose figures are reported.
   */
  fsyncOff?: boolean;
  /** Name of the database created (default `sparecycles`). */
  database?: string;
  /** Directory of PostgreSQL's programs (default `SPARECYCLES_PGBIN`, else `defaultPgbin()`). */
  pgbin?: string;
  /** Most client connections the server accepts (default 100). */
  maxConnections?: number;
}

/** A running throwaway cluster. */
export interface ThrowawayPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/DATABASE`: trust authentication, loopback only. */
  url: string;
  /** Stops the server (fast shutdown) and removes its directory; later calls do nothing. */
  stop(): Promise<void>;
}

/** Clusters still running, stopped synchronously if the process exits without `stop()`. */
const running = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const stopNow of running) stopNow();
  });
}

/** Starts a cluster and creates one database in it; rejects with a clear error if PostgreSQL is missing. */
export async function startThrowawayPostgres(options: ThrowawayPostgresOptions = {}): Promise<ThrowawayPostgres> {
  const pgbin = options.pgbin ?? process.env['SPARECYCLES_PGBIN'] ?? defaultPgbin();
  const database = options.database ?? 'sparecycles';
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`database name must be a plain lowercase identifier, got ${JSON.stringify(database)}`);
  for (const program of ['initdb', 'pg_ctl', 'postgres', 'createdb']) {
    if (!existsSync(join(pgbin, program))) {
      throw new Error(
        `PostgreSQL is not installed where expected: ${join(pgbin, program)} is missing. ` +
          'Install it (Debian/Ubuntu: `apt-get install postgresql`) or set SPARECYCLES_PGBIN to the directory holding initdb and pg_ctl.',
      );
    }
  }
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresUser() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'sparecycles-pg-'));
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chmodSync(dir, 0o700);
  }
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'log');
  const command = (program: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(pgbin, program), ...args]) : run(join(pgbin, program), args);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });

  let started = false;
  try {
    await command('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
    const settings = [`-k ${dir}`, `-c max_connections=${options.maxConnections ?? 100}`];
    if (options.fsyncOff) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
    // The port is free when asked, but another process may bind it first: then try another one.
    let port = 0;
    for (let tries = 1; !started; tries++) {
      port = await freeLoopbackPort();
      try {
        await command('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '30', '-o', [`-h 127.0.0.1`, `-p ${port}`, ...settings].join(' '), 'start']);
        started = true;
      } catch (error) {
        if (tries >= PORT_TRIES || !/could not bind|address already in use/i.test(readLog(logFile))) throw error;
      }
    }
    const stopNow = () => {
      try {
        const args = ['-D', dataDir, '-m', 'immediate', '-w', 'stop'];
        // Synchronous on purpose: an 'exit' handler cannot wait for promises.
        execFileSync(asRoot ? 'runuser' : join(pgbin, 'pg_ctl'), asRoot ? ['-u', 'postgres', '--', join(pgbin, 'pg_ctl'), ...args] : args, { stdio: 'ignore' });
      } catch {
        // Already stopped.
      }
      removeDir();
    };
    running.add(stopNow);
    installExitHook();
    await command('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', database]);

    let stopped: Promise<void> | undefined;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/${database}`,
      stop() {
        stopped ??= (async () => {
          running.delete(stopNow);
          try {
            await command('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
          } finally {
            removeDir();
          }
        })();
        return stopped;
      },
    };
  } catch (error) {
    if (started) await command('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    removeDir();
    const detail = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`could not start a throwaway PostgreSQL from ${pgbin}: ${detail || (error as Error).message}`, { cause: error });
  }
}

/** Ports tried before giving up on starting the server. */
const PORT_TRIES = 3;

/** The server's log so far ('' when it cannot be read). */
function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The `postgres` system user's ids (it exists wherever Debian's package is installed). */
function postgresUser(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root needs the `postgres` system user (created by `apt-get install postgresql`)');
  }
}

/** A port on 127.0.0.1 free right now (the OS picks it; the server binds it a moment later). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Fresh databases on one cluster, cloned from a template that was migrated once, so each test
 * gets an empty, migrated database without running every migration again.
 */
export interface DatabaseCloner {
  /** URL of a new database: a copy of the template, dropped by `dropAll()`. */
  clone(): Promise<string>;
  /**
   * An empty, migrated database to use until `giveBack()`, which empties it (every table but
   * the migrations' truncated) for the next borrower: cheaper than a clone when a suite opens
   * many stores. Give it back only once nothing is connected to it.
   */
  lend(): Promise<{ url: string; giveBack(): Promise<void> }>;
  /** Drops every clone made by `clone()` so far. */
  dropAll(): Promise<void>;
  /** Closes the admin connection (the databases stay until the cluster stops). */
  close(): Promise<void>;
}

/**
 * Prepares a template database on the cluster at `url` (by calling `prepare` on its URL, e.g. to
 * open and close a store, which migrates it) and returns a cloner of it.
 */
export async function databaseCloner(url: string, prepare: (templateUrl: string) => Promise<void>): Promise<DatabaseCloner> {
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  const template = `template_${process.pid}_${Date.now()}`;
  await admin.query(`create database ${template}`);
  await prepare(withDatabase(url, template));
  const made: string[] = [];
  const idle: string[] = [];
  let next = 0;
  const newDatabase = async (): Promise<string> => {
    const name = `${template}_${++next}`;
    await admin.query(`create database ${name} template ${template}`);
    return name;
  };
  return {
    async clone() {
      const name = await newDatabase();
      made.push(name);
      return withDatabase(url, name);
    },
    async lend() {
      const name = idle.pop() ?? (await newDatabase());
      let given = false;
      return {
        url: withDatabase(url, name),
        async giveBack() {
          if (given) return;
          given = true;
          await emptyDatabase(withDatabase(url, name));
          idle.push(name);
        },
      };
    },
    async dropAll() {
      for (const name of made.splice(0)) {
        // Closed pools' backends may still be exiting: forcing them off then would send their
        // clients an error they no longer listen for. Wait a little for them first.
        for (let waited = 0; waited < 2_000; waited += 20) {
          const { rows } = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
          if (rows[0]?.n === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await admin.query(`drop database if exists ${name} with (force)`);
      }
    },
    async close() {
      await admin.end();
    },
  };
}

/** Truncates every table of the database's public schema but Kysely's migration bookkeeping. */
async function emptyDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>("select quote_ident(tablename) as name from pg_tables where schemaname = 'public' and tablename not like 'kysely\\_%'");
    if (rows.length > 0) await client.query(`truncate table ${rows.map((row) => row.name).join(', ')} restart identity cascade`);
  } finally {
    await client.end();
  }
}

/** The same connection URL naming another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
