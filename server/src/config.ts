/**
 * The coordinator's configuration: the only reader of `process.env`. Every variable is parsed,
 * checked against a TypeBox schema and defaulted here; a bad value throws a `ConfigError` naming the
 * variable. The result is frozen.
 *
 * Variables (DESIGN.md operator contract, plus limits):
 *   PORT (8080), HOST (127.0.0.1), DEMO_PORT (PORT+1), DATA_DIR (./data), DATABASE_URL (unset: SQLite
 *   in DATA_DIR; a postgres:// or postgresql:// URL: PostgreSQL, shared by several nodes),
 *   SPARECYCLES_DB_POOL_SIZE (10; connections a node holds to PostgreSQL),
 *   SPARECYCLES_NODE_TIMEOUT_MS (3000; a cluster node silent this long is taken for dead), SPARECYCLES_ADMIN_KEY (generated and kept in DATA_DIR when
 *   unset), SPARECYCLES_DEMO (1; 0 turns the demo off), PUBLIC_URL (http://HOST:PORT), LOG_LEVEL
 *   (info), SPARECYCLES_MAX_MODULE_BYTES (8MiB), SPARECYCLES_MAX_MEMORY_BYTES (256MiB, a multiple
 *   of 64KiB), SPARECYCLES_MAX_OUTPUT_BYTES (4MiB), SPARECYCLES_MAX_JOB_BODY_BYTES (64MiB; a JSON job),
 *   SPARECYCLES_MAX_INPUT_BYTES (1MiB; one task's input), SPARECYCLES_MAX_TASKS_PER_JOB (5000000),
 *   SPARECYCLES_STREAM_IDLE_MS (30000; a streamed body silent this long is ended),
 *   SPARECYCLES_DEADLINE_MS (30000), SPARECYCLES_MAX_ATTEMPTS (3),
 *   SPARECYCLES_MAX_RUN_INPUT_BYTES (1MiB; a host page's `run()` input on the grid),
 *   SPARECYCLES_RUN_SITE_PER_MINUTE (600; `run()` calls a site may send to the grid),
 *   SPARECYCLES_MAX_ACTIVE_JOBS (1000; active jobs per owner), SPARECYCLES_AUTH_FAILURE_BURST (10) and
 *   SPARECYCLES_AUTH_FAILURES_PER_MINUTE (60; failed authentications per client address),
 *   SPARECYCLES_SOCKET_EVENTS_PER_SECOND (10) and SPARECYCLES_SOCKET_EVENT_BURST (64; unproductive
 *   socket events per connection), SPARECYCLES_ADDRESS_EVENTS_PER_SECOND (50) and
 *   SPARECYCLES_ADDRESS_EVENT_BURST (500; the same per address), SPARECYCLES_SOCKET_FLOOD_DISCONNECT
 *   (100; refused events in a row before a connection is closed), SPARECYCLES_CONNECTIONS_PER_ADDRESS
 *   (256), SPARECYCLES_SOCKET_INFLIGHT_BYTES (256MiB; results received and not yet answered, all
 *   connections together; at least the largest result packet), SPARECYCLES_UNGRANTED_RESULT_BYTES_PER_SECOND
 *   (32MiB; results for leases not granted on their connection, all together), SPARECYCLES_CLIENT_DIR
 *   (dist/client), SPARECYCLES_WASM_DIR (dist/wasm), SPARECYCLES_OPERATOR (the public URL's host;
 *   who runs this coordinator, as the frame names it to visitors).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { WASM_PAGE_BYTES as WASM_PAGE } from '../../wasm/host/index.ts';
import { PACKAGE_ROOT } from './package-info.ts';
import { PlainText } from './protocol/http.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface Limits {
  /** Largest module upload, in bytes. */
  maxModuleBytes: number;
  /** Linear-memory cap of every task, in bytes (a multiple of 64 KiB). */
  maxMemoryBytes: number;
  /** Largest task output accepted, in bytes. */
  maxOutputBytes: number;
  /** Largest `POST /jobs` body as JSON, in bytes (streamed bodies are bounded by the two limits below). */
  maxJobBodyBytes: number;
  /** Largest task input, in bytes (decoded). */
  maxInputBytes: number;
  /** Most tasks in one job, streamed or not. */
  maxTasksPerJob: number;
  /** A streamed body that sends nothing for this long is ended (ms). */
  streamIdleMs: number;
  /** Per-task deadline when a job names none, in ms. */
  defaultDeadlineMs: number;
  /** Attempts per task when a job names none. */
  defaultMaxAttempts: number;
  /** Largest input of a host page's `run()` sent to the grid, in bytes. */
  maxRunInputBytes: number;
  /** `run()` calls a site's pages may send to the grid a minute, all visitors together. */
  runSitePerMinute: number;
  /** Active (not yet finished) jobs one owner may have at once. */
  maxActiveJobs: number;
  /** Failed authentications a client address may make in a row before it is refused (429). */
  authFailureBurst: number;
  /** Failed authentications a refused address is allowed again per minute. */
  authFailuresPerMinute: number;
  /** Unproductive socket events (see socket/event-limiter.ts) one connection may send a second, after its burst. */
  socketEventsPerSecond: number;
  /** Unproductive socket events one connection may send in a row. */
  socketEventBurst: number;
  /** Unproductive socket events all connections of one address may send a second, after their burst. */
  addressEventsPerSecond: number;
  /** Unproductive socket events all connections of one address may send in a row. */
  addressEventBurst: number;
  /** Refused (rate-limited) events a connection may collect in a row before it is disconnected. */
  socketFloodDisconnect: number;
  /** Open volunteer connections one address may hold; more are refused at the handshake. */
  connectionsPerAddress: number;
  /** Bytes of received, not yet answered results all connections may hold together. */
  socketInflightBytes: number;
  /** Bytes a second of results for leases not granted on their connection (made up, repeated), all together. */
  ungrantedResultBytesPerSecond: number;
}

export interface Config {
  port: number;
  host: string;
  demoPort: number;
  dataDir: string;
  /** A cluster node silent this long is taken for dead and its leases released (ms). */
  nodeTimeoutMs: number;
  /** The coordinator's public origin, no trailing slash (embed snippet, frame CSP, socket origin). */
  publicUrl: string;
  /** Who runs this coordinator, as the frame names it to visitors (plain text, 1-100 characters). */
  operatorName: string;
  adminKey: string;
  /** True when the admin key was generated by this or an earlier start (print it for the operator). */
  adminKeyGenerated: boolean;
  demo: boolean;
  /** PostgreSQL shared by the cluster's nodes (`DATABASE_URL`); undefined: SQLite in `dataDir`. */
  databaseUrl: string | undefined;
  /** Connections this node holds open to PostgreSQL. */
  databasePoolSize: number;
  logLevel: string;
  limits: Limits;
  /** The client build (`embed.js`, `frame.html`, `assets/`). */
  clientDir: string;
  /** The compiled example task modules (the demo uploads `mandelbrot.wasm`). */
  wasmDir: string;
}

/** A configuration problem, naming the variable at fault. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
);

function checked<T>(variable: string, schema: TSchema, value: unknown, hint: string): T {
  if (!Value.Check(schema, value)) throw new ConfigError(variable, hint);
  return value as T;
}

function integer(env: Env, variable: string, fallback: number, schema: TSchema, hint: string): number {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(variable, `"${raw}" is not a whole number; ${hint}`);
  return checked<number>(variable, schema, Number(raw), `${raw} is out of range; ${hint}`);
}

const SIZE = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i;
const UNITS: Record<string, number> = { b: 1, kib: KiB, mib: MiB, gib: 1024 * MiB };

function size(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const match = SIZE.exec(raw);
  const hint = `expected bytes between ${min} and ${max}, e.g. 8388608 or 8MiB`;
  if (!match) throw new ConfigError(variable, `"${raw}" is not a size; ${hint}`);
  const bytes = Number(match[1]) * (UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1);
  return checked<number>(variable, Type.Integer({ minimum: min, maximum: max }), bytes, `${raw} is out of range; ${hint}`);
}

function flag(env: Env, variable: string, fallback: boolean): boolean {
  const raw = env[variable]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'off', 'no'].includes(raw)) return false;
  throw new ConfigError(variable, `"${raw}" is not a switch; use 1 or 0`);
}

function publicUrl(env: Env, host: string, port: number): string {
  const raw = env['PUBLIC_URL']?.trim();
  if (raw === undefined || raw === '') {
    // A wildcard bind address is not an address a browser can use.
    const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
    return `http://${shown}:${port}`;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('PUBLIC_URL', `"${raw}" is not a URL; expected e.g. https://grid.example.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('PUBLIC_URL', `"${raw}" must use http or https`);
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new ConfigError('PUBLIC_URL', `"${raw}" must be an origin only (no path), e.g. https://grid.example.com`);
  }
  return url.origin;
}

const OPERATOR_MAX = 100;
const OperatorName = PlainText(OPERATOR_MAX);

/** `SPARECYCLES_OPERATOR`, else the public URL's host (e.g. `127.0.0.1:8080`). */
function operatorName(env: Env, url: string): string {
  const raw = env['SPARECYCLES_OPERATOR']?.trim();
  if (raw === undefined || raw === '') return new URL(url).host;
  return checked<string>(
    'SPARECYCLES_OPERATOR',
    OperatorName,
    raw,
    `expected at most ${OPERATOR_MAX} characters of plain text (no control characters), got ${raw.length}`,
  );
}

/** `DATABASE_URL`: unset for SQLite, else a PostgreSQL URL with a host (its password never echoed). */
function databaseUrl(env: Env): string | undefined {
  const raw = env['DATABASE_URL']?.trim();
  if (raw === undefined || raw === '') return undefined;
  const hint = 'expected postgres://USER:PASSWORD@HOST:PORT/DATABASE (or postgresql://), or unset it to use SQLite in DATA_DIR';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL', `not a URL; ${hint}`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `the scheme ${url.protocol}// is not PostgreSQL's; ${hint}`);
  }
  if (url.hostname === '' || url.pathname.length <= 1) throw new ConfigError('DATABASE_URL', `names no host or no database; ${hint}`);
  return raw;
}

/** Everything but the admin key's persistence: pure over `env`. */
export function parseEnv(env: Env): Omit<Config, 'adminKey' | 'adminKeyGenerated'> & { adminKey?: string } {
  const port = integer(env, 'PORT', 8080, Port, 'expected a TCP port 1-65535');
  const host = env['HOST']?.trim() || '127.0.0.1';
  if (/[\s/]/.test(host)) throw new ConfigError('HOST', `"${host}" is not a host name or address`);
  const demoPort = integer(env, 'DEMO_PORT', port === 65535 ? 65534 : port + 1, Port, 'expected a TCP port 1-65535');
  if (demoPort === port) throw new ConfigError('DEMO_PORT', `must differ from PORT (${port})`);
  const adminKey = env['SPARECYCLES_ADMIN_KEY']?.trim();
  if (adminKey !== undefined && adminKey !== '' && !/^[\x21-\x7e]{16,256}$/.test(adminKey)) {
    throw new ConfigError('SPARECYCLES_ADMIN_KEY', 'must be 16-256 printable characters without spaces');
  }
  const maxMemoryBytes = size(env, 'SPARECYCLES_MAX_MEMORY_BYTES', 256 * MiB, WASM_PAGE, 4096 * MiB);
  if (maxMemoryBytes % WASM_PAGE !== 0) {
    throw new ConfigError('SPARECYCLES_MAX_MEMORY_BYTES', `${maxMemoryBytes} is not a multiple of 64KiB (a wasm page)`);
  }
  const logLevel = checked<string>('LOG_LEVEL', LogLevel, env['LOG_LEVEL']?.trim() || 'info', 'expected one of fatal, error, warn, info, debug, trace, silent');
  const dir = (variable: string, fallback: string): string => resolve(env[variable]?.trim() || fallback);
  const url = publicUrl(env, host, port);
  return {
    port,
    host,
    demoPort,
    dataDir: dir('DATA_DIR', './data'),
    nodeTimeoutMs: integer(env, 'SPARECYCLES_NODE_TIMEOUT_MS', 3_000, Type.Integer({ minimum: 2_000, maximum: 600_000 }), 'expected 2000-600000 ms'),
    publicUrl: url,
    operatorName: operatorName(env, url),
    ...(adminKey ? { adminKey } : {}),
    demo: flag(env, 'SPARECYCLES_DEMO', true),
    databaseUrl: databaseUrl(env),
    databasePoolSize: integer(env, 'SPARECYCLES_DB_POOL_SIZE', 10, Type.Integer({ minimum: 1, maximum: 1000 }), 'expected 1-1000'),
    logLevel,
    limits: {
      maxModuleBytes: size(env, 'SPARECYCLES_MAX_MODULE_BYTES', 8 * MiB, 8, 256 * MiB),
      maxMemoryBytes,
      maxOutputBytes: size(env, 'SPARECYCLES_MAX_OUTPUT_BYTES', 4 * MiB, 1, 64 * MiB),
      maxJobBodyBytes: size(env, 'SPARECYCLES_MAX_JOB_BODY_BYTES', 64 * MiB, KiB, 1024 * MiB),
      maxInputBytes: size(env, 'SPARECYCLES_MAX_INPUT_BYTES', MiB, 1, 64 * MiB),
      maxTasksPerJob: integer(env, 'SPARECYCLES_MAX_TASKS_PER_JOB', 5_000_000, Type.Integer({ minimum: 1, maximum: 1_000_000_000 }), 'expected 1-1000000000'),
      streamIdleMs: integer(env, 'SPARECYCLES_STREAM_IDLE_MS', 30_000, Type.Integer({ minimum: 100, maximum: 3_600_000 }), 'expected 100-3600000 ms'),
      defaultDeadlineMs: integer(env, 'SPARECYCLES_DEADLINE_MS', 30_000, Type.Integer({ minimum: 100, maximum: 3_600_000 }), 'expected 100-3600000 ms'),
      defaultMaxAttempts: integer(env, 'SPARECYCLES_MAX_ATTEMPTS', 3, Type.Integer({ minimum: 1, maximum: 100 }), 'expected 1-100'),
      maxRunInputBytes: size(env, 'SPARECYCLES_MAX_RUN_INPUT_BYTES', MiB, 1, 64 * MiB),
      runSitePerMinute: integer(env, 'SPARECYCLES_RUN_SITE_PER_MINUTE', 600, Type.Integer({ minimum: 1, maximum: 100_000 }), 'expected 1-100000'),
      maxActiveJobs: integer(env, 'SPARECYCLES_MAX_ACTIVE_JOBS', 1000, Type.Integer({ minimum: 1, maximum: 1_000_000 }), 'expected 1-1000000'),
      authFailureBurst: integer(env, 'SPARECYCLES_AUTH_FAILURE_BURST', 10, Type.Integer({ minimum: 1, maximum: 10_000 }), 'expected 1-10000'),
      authFailuresPerMinute: integer(env, 'SPARECYCLES_AUTH_FAILURES_PER_MINUTE', 60, Type.Integer({ minimum: 1, maximum: 60_000 }), 'expected 1-60000'),
      socketEventsPerSecond: integer(env, 'SPARECYCLES_SOCKET_EVENTS_PER_SECOND', 10, Type.Integer({ minimum: 1, maximum: 1_000_000 }), 'expected 1-1000000'),
      socketEventBurst: integer(env, 'SPARECYCLES_SOCKET_EVENT_BURST', 64, Type.Integer({ minimum: 1, maximum: 1_000_000 }), 'expected 1-1000000'),
      addressEventsPerSecond: integer(env, 'SPARECYCLES_ADDRESS_EVENTS_PER_SECOND', 50, Type.Integer({ minimum: 1, maximum: 1_000_000 }), 'expected 1-1000000'),
      addressEventBurst: integer(env, 'SPARECYCLES_ADDRESS_EVENT_BURST', 500, Type.Integer({ minimum: 1, maximum: 1_000_000 }), 'expected 1-1000000'),
      socketFloodDisconnect: integer(env, 'SPARECYCLES_SOCKET_FLOOD_DISCONNECT', 100, Type.Integer({ minimum: 1, maximum: 1_000_000 }), 'expected 1-1000000'),
      connectionsPerAddress: integer(env, 'SPARECYCLES_CONNECTIONS_PER_ADDRESS', 256, Type.Integer({ minimum: 1, maximum: 1_000_000 }), 'expected 1-1000000'),
      socketInflightBytes: size(env, 'SPARECYCLES_SOCKET_INFLIGHT_BYTES', 256 * MiB, MiB, 64 * 1024 * MiB),
      ungrantedResultBytesPerSecond: size(env, 'SPARECYCLES_UNGRANTED_RESULT_BYTES_PER_SECOND', 32 * MiB, KiB, 64 * 1024 * MiB),
    },
    clientDir: env['SPARECYCLES_CLIENT_DIR']?.trim() ? resolve(env['SPARECYCLES_CLIENT_DIR'].trim()) : join(PACKAGE_ROOT, 'dist/client'),
    wasmDir: env['SPARECYCLES_WASM_DIR']?.trim() ? resolve(env['SPARECYCLES_WASM_DIR'].trim()) : join(PACKAGE_ROOT, 'dist/wasm'),
  };
}

const ADMIN_KEY_FILE = 'admin-key';

/**
 * Reads the configuration from `env` (default `process.env`), creates DATA_DIR and, when no admin key
 * is set, reuses the one kept in `DATA_DIR/admin-key` or generates (with `newKey`) and keeps one.
 */
export function loadConfig(newKey: () => string, env: Env = process.env): Readonly<Config> {
  const parsed = parseEnv(env);
  try {
    mkdirSync(parsed.dataDir, { recursive: true });
  } catch (error) {
    throw new ConfigError('DATA_DIR', `cannot create ${parsed.dataDir}: ${(error as Error).message}`);
  }
  let adminKey = parsed.adminKey;
  let adminKeyGenerated = false;
  if (adminKey === undefined) {
    adminKeyGenerated = true;
    const file = join(parsed.dataDir, ADMIN_KEY_FILE);
    try {
      adminKey = readFileSync(file, 'utf8').trim();
    } catch {
      adminKey = '';
    }
    if (adminKey === '') {
      adminKey = newKey();
      try {
        writeFileSync(file, `${adminKey}\n`, { mode: 0o600 });
        chmodSync(file, 0o600);
      } catch (error) {
        throw new ConfigError('DATA_DIR', `cannot write ${file}: ${(error as Error).message}`);
      }
    }
  }
  return Object.freeze({
    ...parsed,
    adminKey,
    adminKeyGenerated,
    limits: Object.freeze({ ...parsed.limits }),
  });
}
