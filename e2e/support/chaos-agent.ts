/**
 * The Node volunteer agent's CLI (`client/src/agent/cli.ts`) as a child process, so a chaos test
 * can SIGKILL a volunteer as a crash or a pulled plug would: no goodbye, the kernel closes its socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newVolunteerId } from '../../client/src/runtime/ids.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface AgentProcess {
  readonly volunteerId: string;
  readonly child: ChildProcess;
  output(): string;
  /** SIGKILL, waiting for the exit. */
  kill(): Promise<void>;
  /** Kills it if still running and removes its id file. */
  dispose(): Promise<void>;
}

/** Starts an agent with a known volunteer id; resolves once it says it is volunteering. */
export async function startAgentProcess(options: { url: string; siteKey: string; workers: number }): Promise<AgentProcess> {
  const volunteerId = newVolunteerId();
  const dir = await mkdtemp(join(tmpdir(), 'sc-agent-'));
  const idFile = join(dir, 'volunteer-id');
  await writeFile(idFile, `${volunteerId}\n`);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'client/src/agent/cli.ts', '--url', options.url, '--site', options.siteKey, '--workers', String(options.workers), '--id-file', idFile],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-16 * 1024);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;

  const agent: AgentProcess = {
    volunteerId,
    child,
    output: () => output,
    async kill() {
      if (!alive()) return;
      child.kill('SIGKILL');
      await exited;
    },
    async dispose() {
      await agent.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };

  const until = Date.now() + 30_000;
  while (!output.includes('volunteering to')) {
    if (!alive() || Date.now() > until) {
      await agent.dispose();
      throw new Error(`the agent did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return agent;
}
