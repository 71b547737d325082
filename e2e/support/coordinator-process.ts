/** Starts a real coordinator (`tsx server/src/main.ts`) as a child process, for demos and benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';

export interface CoordinatorProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function startCoordinatorProcess(options: {
  port: number;
  dataDir: string;
  adminKey: string;
  demo?: boolean;
  demoPort?: number;
  /** Extra Node flags before the entry point (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
}): Promise<CoordinatorProcess> {
  await rm(options.dataDir, { recursive: true, force: true });
  const url = `http://127.0.0.1:${options.port}`;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'server/src/main.ts'], {
    env: {
      ...process.env,
      PORT: String(options.port),
      HOST: '127.0.0.1',
      DEMO_PORT: String(options.demoPort ?? options.port + 1),
      DATA_DIR: options.dataDir,
      SPARECYCLES_ADMIN_KEY: options.adminKey,
      SPARECYCLES_DEMO: options.demo ? '1' : '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`coordinator exited (${child.exitCode}):\n${output}`);
    const healthy = await fetch(`${url}/api/v1/health`).then((r) => r.ok, () => false);
    if (healthy) break;
    if (Date.now() > deadline) throw new Error(`coordinator did not become healthy:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
