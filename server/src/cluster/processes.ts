/**
 * N coordinator processes on one PostgreSQL, on consecutive loopback ports: what
 * `npm run cluster` and the cluster test start. Each node is `tsx server/src/main.ts` with the same
 * `DATABASE_URL` and admin key and its own `PORT`, `PUBLIC_URL` and `DATA_DIR`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NodeProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, waits for the exit: a crash. */
  kill(): Promise<void>;
}

export interface StartNodesOptions {
  databaseUrl: string;
  nodes: number;
  basePort: number;
  adminKey: string;
  /** Extra environment for every node (e.g. `LOG_LEVEL`). */
  env?: Readonly<Record<string, string>>;
  /** Where the node's output goes besides `output()` (e.g. `process.stdout`). */
  echo?: (nodeIndex: number, text: string) => void;
  /** Default 60 s. */
  healthyWithinMs?: number;
  /** Extra options for each node's `node` (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
}

const MAIN = join(import.meta.dirname, '..', 'main.ts');

async function waitHealthy(url: string, child: ChildProcess, output: () => string, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node ${url} exited (${child.exitCode}):\n${output()}`);
    if (await fetch(`${url}/api/v1/health`).then((r) => r.ok, () => false)) return;
    if (Date.now() > deadline) throw new Error(`node ${url} did not become healthy:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts one node; resolves once it answers its health check. */
export async function startNode(options: StartNodesOptions, index: number): Promise<NodeProcess> {
  const port = options.basePort + index;
  const url = `http://127.0.0.1:${port}`;
  const dataDir = await mkdtemp(join(tmpdir(), `sc-node${index}-`));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      ...options.env,
      DATABASE_URL: options.databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: url,
      DATA_DIR: dataDir,
      SPARECYCLES_ADMIN_KEY: options.adminKey,
      SPARECYCLES_DEMO: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const take = (chunk: Buffer): void => {
    const text = chunk.toString();
    // Bounded: a long test keeps the tail, which is what a failure needs.
    output = (output + text).slice(-200_000);
    options.echo?.(index, text);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  child.once('exit', () => void rm(dataDir, { recursive: true, force: true }));
  try {
    await waitHealthy(url, child, () => output, options.healthyWithinMs ?? 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    child,
    output: () => output,
    async stop() {
      const exited = waitExit(child);
      child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      const exited = waitExit(child);
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Starts `nodes` nodes: the first alone (it migrates the database), then the others together. */
export async function startNodes(options: StartNodesOptions): Promise<NodeProcess[]> {
  const first = await startNode(options, 0);
  const rest = await Promise.allSettled(Array.from({ length: options.nodes - 1 }, (_, i) => startNode(options, i + 1)));
  const started = [first, ...rest.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
  const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((node) => node.kill()));
    throw failed.reason;
  }
  return started;
}
