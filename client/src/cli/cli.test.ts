/**
 * The `sparecycles` command end to end, as child processes against a real coordinator (SQLite,
 * scheduler, HTTP, Socket.IO) and a real Node volunteer, for the endpoints that exist on main
 * today. `job run` against a coordinator, `login`, `key create` and `job list` need the streaming
 * and tenancy endpoints: they are in job-run.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtModule, freePort, prepareVolunteering, startTestCoordinator, TEST_ADMIN_KEY, type TestCoordinator } from '../../../server/src/http/testing.ts';
import { countPrimesReference } from '../../../wasm/tasks/primes/reference.ts';
import { decodePrimesOutput, encodePrimesInput } from '../../../wasm/tasks/primes/codec.ts';
import { primesLine, runCli, startCli } from './testing/run-cli.ts';

let coordinator: TestCoordinator;
let home: string;
let env: Record<string, string>;

beforeAll(async () => {
  coordinator = await startTestCoordinator();
  await coordinator.listen();
  home = await mkdtemp(join(tmpdir(), 'sc-cli-'));
  env = { HOME: home, XDG_CONFIG_HOME: join(home, 'config'), SPARECYCLES_URL: coordinator.url, SPARECYCLES_KEY: TEST_ADMIN_KEY };
});
afterAll(async () => {
  await coordinator.close();
  await rm(home, { recursive: true, force: true });
});

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

// Each case starts node + tsx (about 2 s alone, several times that while other suites run).
describe('usage', { timeout: 60_000 }, () => {
  it('--help lists the commands and documents the exit codes (exit 0)', async () => {
    const result = await runCli(['--help'], { HOME: home });
    expect(result.code).toBe(0);
    for (const command of ['login', 'serve', 'key', 'site', 'module', 'job', 'volunteer']) expect(result.stdout).toContain(command);
    expect(result.stdout).toMatch(/Exit codes:\n\s+0\s+success\n\s+1\s+the job ended with failed.*\n\s+2\s+usage.*\n\s+3\s+the coordinator refused/);
  });

  it.each([
    [['frobnicate']],
    [['job', 'run', '--inputs', 'x']],
    [['job', 'run', '--module', 'm', '--inputs', 'i', '--out', 'o', '--redundancy', 'zero']],
    [['key', 'create', '--role', 'admin', '--name', 'n']],
  ])('%o is a usage error (exit 2)', async (args) => {
    const result = await runCli(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error/);
  });

  it('without a URL or key says how to give one (exit 2)', async () => {
    const result = await runCli(['job', 'status', 'abc'], { HOME: home, XDG_CONFIG_HOME: join(home, 'nothing-here') });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no coordinator: pass --url URL, set SPARECYCLES_URL, or run `sparecycles login URL KEY`/);
  });
});

describe('against a coordinator', { timeout: 60_000 }, () => {
  it('module push prints the hash (the SHA-256 of the file)', async () => {
    const file = 'dist/wasm/primes.wasm';
    const result = await runCli(['module', 'push', file], env);
    expect(result.code).toBe(0);
    const hash = createHash('sha256').update(await builtModule('primes')).digest('hex');
    expect(result.stdout.trim()).toBe(hash);
    expect((await coordinator.store.getModule(hash))?.hash).toBe(hash);
  });

  it('reads the URL and key from the config file when neither flag nor environment gives them', async () => {
    const config = join(home, 'logged-in');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(config, 'sparecycles'), { recursive: true }));
    await writeFile(join(config, 'sparecycles', 'config.json'), JSON.stringify({ url: coordinator.url, key: TEST_ADMIN_KEY }));
    const result = await runCli(['module', 'push', 'dist/wasm/mandelbrot.wasm'], { HOME: home, XDG_CONFIG_HOME: config });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a refused key exits 3 and says to check the key', async () => {
    const result = await runCli(['module', 'push', 'dist/wasm/primes.wasm', '--key', 'not-the-key-0123456789'], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/error: .*\((401 unauthorized|403 forbidden)\)\n {2}(check the key|this key has the wrong role)/);
  });

  it('an unknown job exits 3 and points at job list', async () => {
    const result = await runCli(['job', 'status', 'no-such-job'], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/404 job_not_found\)\n {2}check the id: `sparecycles job list`/);
  });

  it('no coordinator at the URL exits 3 and asks whether it is running', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['job', 'status', 'abc', '--url', url], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`is the coordinator running at ${url}?`);
  });

  it('site add prints the embed snippet', async () => {
    const result = await runCli(['site', 'add', '--name', 'Blog', '--origin', 'https://blog.example', 'http://localhost:3000'], env);
    expect(result.code).toBe(0);
    const snippet = result.stdout.trim();
    expect(snippet).toMatch(new RegExp(`^<script src="${coordinator.url}/embed.js" data-site="[A-Za-z0-9_-]+" async></script>$`));
    const siteKey = /data-site="([^"]+)"/.exec(snippet)![1]!;
    expect((await coordinator.api('GET', `/sites/${siteKey}`)).json().origins).toEqual(['https://blog.example', 'http://localhost:3000']);
  });

  it('volunteer computes a job; job status and results show it; Ctrl-C stops the volunteer (exit 0)', async () => {
    const { siteKey, moduleHash } = await prepareVolunteering(coordinator, 'primes');
    const ranges = Array.from({ length: 40 }, (_, i) => ({ lo: i * 5000, hi: i * 5000 + 5000 }));
    const created = await coordinator.api('POST', '/jobs', { module: moduleHash, inputs: ranges.map(({ lo, hi }) => base64(encodePrimesInput(lo, hi))) });
    const jobId: string = created.json().id;

    const volunteer = startCli(['volunteer', '--url', coordinator.url, '--site', siteKey, '--threads', '2', '--id-file', join(home, 'volunteer-id')], { HOME: home });
    let stopped;
    try {
      await volunteer.waitFor(/volunteering to/);
      await expect.poll(async () => (await coordinator.api('GET', `/jobs/${jobId}`)).json().state, { timeout: 45_000, interval: 200 }).toBe('completed');
    } finally {
      volunteer.child.kill('SIGINT');
      stopped = await volunteer.exited;
    }
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toMatch(/SIGINT: stopping/);

    const status = await runCli(['job', 'status', jobId], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`job ${jobId} completed`));
    expect(status.stdout).toContain('40 tasks: 40 completed, 0 failed');
    const json = await runCli(['job', 'status', jobId, '--json'], env);
    expect(JSON.parse(json.stdout).counts.completed).toBe(40);

    const results = await runCli(['job', 'results', jobId], env);
    expect(results.code).toBe(0);
    const lines = results.stdout.trim().split('\n').map((line) => JSON.parse(line) as { index: number; state: string; output: string });
    expect(lines.map((line) => line.index)).toEqual(ranges.map((_, i) => i));
    for (const [i, line] of lines.entries()) {
      expect(line.state).toBe('completed');
      expect(decodePrimesOutput(Buffer.from(line.output, 'base64'))).toBe(countPrimesReference(ranges[i]!.lo, ranges[i]!.hi));
    }
  });

  it('job cancel cancels the unsettled tasks', async () => {
    const { moduleHash } = await prepareVolunteering(coordinator, 'primes');
    const created = await coordinator.api('POST', '/jobs', { module: moduleHash, inputs: [base64(encodePrimesInput(0, 10))] });
    const result = await runCli(['job', 'cancel', created.json().id], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/cancelled.*\n.*\n.*1 cancelled/);
  });
});

describe('job run --local', { timeout: 60_000 }, () => {
  it('runs the inputs on this machine, in input order, checked against an independent count; a bad input fails (exit 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sc-local-'));
    try {
      const ranges = Array.from({ length: 300 }, (_, i) => ({ lo: i * 997, hi: i * 997 + 1500 }));
      const lines = ranges.map(({ lo, hi }) => primesLine(lo, hi));
      lines.splice(150, 0, '', JSON.stringify({ text: 'not 8 bytes' }));
      await writeFile(join(dir, 'in.ndjson'), `${lines.join('\n')}\n`);
      const result = await runCli(
        ['job', 'run', '--local', '--module', 'dist/wasm/primes.wasm', '--inputs', join(dir, 'in.ndjson'), '--out', join(dir, 'out.ndjson'), '--order', 'input', '--threads', '2', '--max-attempts', '2'],
        { HOME: home },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/local run: 300\/301 completed, 1 failed .* on 2 threads/);
      const out = (await readFile(join(dir, 'out.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
      expect(out.map((line) => line.index)).toEqual(Array.from({ length: 301 }, (_, i) => i));
      const failed = out[150];
      expect(failed).toMatchObject({ index: 150, state: 'failed' });
      expect(failed.errors.map((e: { attempt: number; kind: string }) => [e.attempt, e.kind])).toEqual([[1, 'trap'], [2, 'trap']]);
      expect(failed.errors[0].message).toMatch(/input must be 8 bytes/);
      const completed = out.filter((line) => line.state === 'completed');
      expect(completed.map((line) => decodePrimesOutput(Buffer.from(line.output, 'base64')))).toEqual(ranges.map(({ lo, hi }) => countPrimesReference(lo, hi)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an unreadable input line is a usage error naming the file and line (exit 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sc-local-'));
    try {
      await writeFile(join(dir, 'in.ndjson'), `${primesLine(0, 10)}\n{"base64":"***"}\n`);
      const result = await runCli(['job', 'run', '--local', '--module', 'dist/wasm/primes.wasm', '--inputs', join(dir, 'in.ndjson'), '--out', join(dir, 'out.ndjson')], { HOME: home });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${join(dir, 'in.ndjson')} line 2: "base64" is not valid padded base64`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('serve', { timeout: 60_000 }, () => {
  it('starts a coordinator from the environment as npm start does, takes a module push, and stops on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sc-serve-'));
    try {
      const port = await freePort();
      const server = startCli(['serve'], { HOME: home, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' });
      await server.waitFor(/admin key\s+sc_admin_\S+/);
      const adminKey = /admin key\s+(sc_admin_\S+)/.exec(server.output().stdout)![1]!;
      expect(server.output().stdout).not.toMatch(/demo page/);
      const push = await runCli(['module', 'push', 'dist/wasm/primes.wasm', '--url', `http://127.0.0.1:${port}`, '--key', adminKey], { HOME: home });
      expect(push.code).toBe(0);
      expect(push.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
