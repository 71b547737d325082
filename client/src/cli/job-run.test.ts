/**
 * `sparecycles job run` and the commands over the streaming and account endpoints (NDJSON
 * `POST /jobs` + `/inputs` + `/close`, results `order=completion&follow=1`, `GET /jobs`,
 * `GET /grid`, `POST /keys`), as child processes against a real coordinator (`sparecycles serve`)
 * and a real Node volunteer.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../server/src/http/testing.ts';
import { decodePrimesOutput } from '../../../wasm/tasks/primes/codec.ts';
import { countPrimesReference } from '../../../wasm/tasks/primes/reference.ts';
import { buildCollatz } from '../../../wasm/examples/collatz-c/build.ts';
import { collatzAnswer } from '../../../wasm/examples/collatz-c/reference.ts';
import { startNodeVolunteer, type NodeVolunteer } from '../agent/index.ts';
import { primesLine, runCli, startCli, type CliProcess } from './testing/run-cli.ts';

const INPUTS = 100_000;
/** Each task counts the primes in a range this wide: small tasks, so the grid's overhead shows. */
const WIDTH = 200;

let dir: string;
let server: CliProcess;
let url: string;
let adminKey: string;
let authorKey: string;
let siteKey: string;
let volunteer: NodeVolunteer | undefined;
let home: Record<string, string>;

/** The coordinator's peak resident memory (Linux), in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-job-run-'));
  home = { HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') };
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = startCli(['serve'], { ...home, DATA_DIR: join(dir, 'data'), PORT: String(port), LOG_LEVEL: 'warn' });
  await server.waitFor(/admin key\s+sc_admin_\S+/);
  adminKey = /admin key\s+(sc_admin_\S+)/.exec(server.output().stdout)![1]!;
  const lines = Array.from({ length: INPUTS }, (_, i) => primesLine(i * WIDTH, (i + 1) * WIDTH));
  await writeFile(join(dir, 'inputs.ndjson'), `${lines.join('\n')}\n`);
}, 120_000);

afterAll(async () => {
  await volunteer?.stop();
  server.child.kill('SIGTERM');
  await server.exited;
  await rm(dir, { recursive: true, force: true });
});

describe('keys and login', () => {
  it('key create prints an author secret once; login checks it and keeps it in a 0600 file', async () => {
    const created = await runCli(['key', 'create', '--role', 'author', '--name', 'ada', '--url', url, '--key', adminKey], home);
    expect(created.code, created.stderr).toBe(0);
    authorKey = created.stdout.trim();
    expect(authorKey).toMatch(/^sc_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/created author key k_\S+ for "ada"/);

    const refused = await runCli(['login', url, 'sc_not-a-real-key'], home);
    expect(refused.code, refused.stderr).toBe(3);
    await expect(stat(join(dir, 'config', 'sparecycles', 'config.json'))).rejects.toThrow();

    const login = await runCli(['login', url, authorKey], home);
    expect(login.code, login.stderr).toBe(0);
    const file = join(dir, 'config', 'sparecycles', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ url, key: authorKey });
  });

  it('a site key through site add, for the volunteer', async () => {
    const site = await runCli(['site', 'add', '--name', 'volunteers', '--origin', 'http://localhost:9999', '--url', url, '--key', adminKey], home);
    expect(site.code, site.stderr).toBe(0);
    siteKey = /data-site="([^"]+)"/.exec(site.stdout)![1]!;
  });

  it('a revoked key exits 3 and names how to get a new one', async () => {
    const created = await runCli(['key', 'create', '--role', 'author', '--name', 'temp', '--url', url, '--key', adminKey], home);
    const id = /key (k_\S+)/.exec(created.stderr)![1]!;
    await fetch(`${url}/api/v1/keys/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminKey}` } });
    const result = await runCli(['job', 'list', '--key', created.stdout.trim()], home);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/revoked[\s\S]*sparecycles key create/);
  });
});

describe('job run over 100,000 inputs', () => {
  let jobId: string;

  it('streams the inputs, follows the results into the file, and matches an independent count; the coordinator stays small', async () => {
    // Four threads for tiny tasks on 2 cores: 8 leases in hand, so each round trip carries a full
    // lease grant and a full results event (20,000 tasks: ~32 s against ~47 s with 2 threads).
    volunteer = await startNodeVolunteer({ url, siteKey, workers: 4 });
    const out = join(dir, 'grid.ndjson');
    const run = await runCli(['job', 'run', '--module', 'dist/wasm/primes.wasm', '--inputs', join(dir, 'inputs.ndjson'), '--out', out, '--order', 'input', '--title', 'primes 100k'], home);
    expect(run.code, run.stderr).toBe(0);
    jobId = /job (\S+): following its results/.exec(run.stderr)![1]!;
    // Not a terminal: plain progress lines, with the volunteers online.
    expect(run.stderr).toMatch(/\d[\d,]*\/100,000 done \([\d.]+%\), 0 failed, .* tasks\/s, .*1 volunteer online/);
    expect(run.stderr).toMatch(/100000\/100000 completed, 0 failed/);

    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(INPUTS);
    for (const [i, text] of lines.entries()) {
      const line = JSON.parse(text) as { index: number; state: string; output: string };
      expect(line.index).toBe(i);
      expect(line.state).toBe('completed');
      expect(decodePrimesOutput(Buffer.from(line.output, 'base64'))).toBe(countPrimesReference(i * WIDTH, (i + 1) * WIDTH));
    }
    const peak = await peakRss(server.child.pid!);
    console.log(`coordinator peak RSS after a ${INPUTS}-task job: ${(peak / 2 ** 20).toFixed(0)} MiB`);
    expect(peak).toBeLessThan(400 * 2 ** 20);
  }, 900_000);

  it('--local gives a byte-identical file', async () => {
    const local = join(dir, 'local.ndjson');
    const run = await runCli(['job', 'run', '--local', '--module', 'dist/wasm/primes.wasm', '--inputs', join(dir, 'inputs.ndjson'), '--out', local, '--order', 'input'], home);
    expect(run.code, run.stderr).toBe(0);
    expect((await readFile(local)).equals(await readFile(join(dir, 'grid.ndjson')))).toBe(true);
  }, 900_000);

  it('job list shows it; job results --order completion gives every task once', async () => {
    const list = await runCli(['job', 'list'], home);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${jobId}\\s+completed\\s+100000/100000 done`));
    const results = await runCli(['job', 'results', jobId, '--order', 'completion', '--out', join(dir, 'completion.ndjson')], home);
    expect(results.code, results.stderr).toBe(0);
    const indexes = (await readFile(join(dir, 'completion.ndjson'), 'utf8')).trimEnd().split('\n').map((line) => (JSON.parse(line) as { index: number }).index);
    expect(indexes.sort((a, b) => a - b)).toEqual(Array.from({ length: INPUTS }, (_, i) => i));
  }, 120_000);
});

describe('job run, the rest', () => {
  it('failed tasks exit 1 with their errors in the file', async () => {
    await mkdir(join(dir, 'bad'), { recursive: true });
    await writeFile(join(dir, 'bad', 'in.ndjson'), `${primesLine(0, 10)}\n{"text":"not 8 bytes"}\n`);
    const run = await runCli(['job', 'run', '--module', 'dist/wasm/primes.wasm', '--inputs', join(dir, 'bad', 'in.ndjson'), '--out', join(dir, 'bad', 'out.ndjson'), '--max-attempts', '1', '--order', 'input'], home);
    expect(run.code, run.stderr).toBe(1);
    const lines = (await readFile(join(dir, 'bad', 'out.ndjson'), 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ index: 0, state: 'completed' });
    expect(lines[1]).toMatchObject({ index: 1, state: 'failed', errors: [{ attempt: 1, kind: 'trap' }] });
  }, 60_000);

  it("the README's C example: a WASI module built by clang, text inputs, --text outputs equal to the reference, on the grid and --local", async () => {
    const { path: collatz } = await buildCollatz();
    const ranges = Array.from({ length: 40 }, (_, i) => [i * 2500 + 1, (i + 1) * 2500] as const);
    await writeFile(join(dir, 'ranges.ndjson'), ranges.map(([first, last]) => `${JSON.stringify({ text: `${first} ${last}` })}\n`).join(''));
    const expected = ranges.map(([first, last]) => collatzAnswer(first, last));
    for (const where of ['grid', 'local'] as const) {
      const out = join(dir, `collatz-${where}.ndjson`);
      const local = where === 'local' ? ['--local'] : [];
      const run = await runCli(['job', 'run', ...local, '--module', collatz, '--inputs', join(dir, 'ranges.ndjson'), '--out', out, '--text', '--title', 'Collatz records'], home);
      expect(run.code, run.stderr).toBe(0);
      const lines = (await readFile(out, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as { index: number; state: string; text: string; output: string });
      const texts: string[] = [];
      for (const line of lines) texts[line.index] = line.text;
      expect(texts, where).toEqual(expected);
      expect(Buffer.from(lines[0]!.output, 'base64').toString('utf8')).toBe(lines[0]!.text);
    }
  }, 120_000);

  it('Ctrl-C without a terminal leaves the job running and prints how to follow it (exit 130)', async () => {
    await volunteer?.stop();
    volunteer = undefined;
    await writeFile(join(dir, 'few.ndjson'), `${primesLine(0, 10)}\n${primesLine(10, 20)}\n`);
    const run = startCli(['job', 'run', '--module', 'dist/wasm/primes.wasm', '--inputs', join(dir, 'few.ndjson'), '--out', join(dir, 'few-out.ndjson')], home);
    await run.waitFor(/following its results/);
    await run.waitFor(/0\/2 done/);
    run.child.kill('SIGINT');
    const result = await run.exited;
    expect(result.code, result.stderr).toBe(130);
    const id = /job (\S+): following/.exec(result.stderr)![1]!;
    expect(result.stderr).toContain(`job ${id} keeps running`);
    expect(result.stderr).toContain(`sparecycles job results ${id} --order completion --follow`);
    const status = await runCli(['job', 'status', id, '--json'], home);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).state).toBe('active');
    const cancel = await runCli(['job', 'cancel', id], home);
    expect(cancel.code, cancel.stderr).toBe(0);
  }, 60_000);
});
