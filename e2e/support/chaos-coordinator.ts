/**
 * A real coordinator (`server/src/main.ts`) as a child process that a chaos test can SIGKILL and
 * start again on the same port and the same DATA_DIR, as an operator's supervisor would after a
 * crash. Unlike `startCoordinatorProcess`, a restart keeps the data: that is the point.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Output kept per run: enough for the last errors, not a whole log. */
const OUTPUT_TAIL = 16 * 1024;

export interface ChaosCoordinator {
  /** `http://127.0.0.1:PORT`, also its PUBLIC_URL. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The SQLite file the coordinator keeps in DATA_DIR. */
  readonly dbFile: string;
  readonly adminKey: string;
  /** Starts it (again) on the same port and data; resolves once `/api/v1/health` answers. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown, no goodbye to sockets, whatever is in flight is lost. Waits for the exit. */
  kill(): Promise<void>;
  /** Times it was started. */
  starts(): number;
  /** The tail of every run's output, each run headed by a marker line. */
  output(): string;
  /** SIGTERM (graceful) if running, then removes the data dir when the test made it. */
  dispose(): Promise<void>;
}

export interface ChaosCoordinatorOptions {
  port: number;
  adminKey: string;
  /** Default: a fresh temp dir, removed by `dispose()`. */
  dataDir?: string;
  /** Extra environment (e.g. `SPARECYCLES_DEADLINE_MS`). */
  env?: Record<string, string>;
}

/** Creates the coordinator and starts it once. */
export async function startChaosCoordinator(options: ChaosCoordinatorOptions): Promise<ChaosCoordinator> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'sc-chaos-')));
  const url = `http://127.0.0.1:${options.port}`;
  const runs: string[] = [];
  let child: ChildProcess | undefined;

  const append = (chunk: Buffer): void => {
    const last = runs.length - 1;
    runs[last] = ((runs[last] ?? '') + chunk.toString()).slice(-OUTPUT_TAIL);
  };
  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const exited = (process: ChildProcess): Promise<void> =>
    process.exitCode !== null || process.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => process.once('exit', () => resolve()));

  const coordinator: ChaosCoordinator = {
    url,
    port: options.port,
    dataDir,
    dbFile: join(dataDir, 'sparecycles.db'),
    adminKey: options.adminKey,

    async start() {
      if (running()) throw new Error('the coordinator is already running');
      runs.push(`--- start ${runs.length + 1} at ${new Date().toISOString()}\n`);
      const started = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
        cwd: ROOT,
        env: {
          ...process.env,
          PORT: String(options.port),
          HOST: '127.0.0.1',
          DEMO_PORT: String(options.port === 65535 ? 65534 : options.port + 1),
          DATA_DIR: dataDir,
          PUBLIC_URL: url,
          SPARECYCLES_ADMIN_KEY: options.adminKey,
          SPARECYCLES_DEMO: '0',
          LOG_LEVEL: 'warn',
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = started;
      started.stdout?.on('data', append);
      started.stderr?.on('data', append);
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (!running()) throw new Error(`the coordinator exited (${started.exitCode ?? started.signalCode}):\n${coordinator.output()}`);
        const healthy = await fetch(`${url}/api/v1/health`).then((r) => r.ok, () => false);
        if (healthy) return;
        if (Date.now() > deadline) throw new Error(`the coordinator did not become healthy:\n${coordinator.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },

    async kill() {
      if (!child || !running()) return;
      const gone = exited(child);
      child.kill('SIGKILL');
      await gone;
    },

    starts: () => runs.length,
    output: () => runs.join(''),

    async dispose() {
      if (child && running()) {
        const gone = exited(child);
        child.kill('SIGTERM');
        const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(timer);
      }
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  await coordinator.start();
  return coordinator;
}
