/**
 * The installable package as a user gets it: `npm pack` of the built tree, `npm install` of the
 * tarball into an empty folder (no tsx, no TypeScript, no build there), then its `sparecycles`
 * command: `serve` (SQLite in a temporary DATA_DIR, a free loopback port), `volunteer` against it,
 * a job over plain fetch checked against an independent computation, and the CLI's `key create`
 * and `job run`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../server/src/http/testing.ts';
import { decodePrimesOutput, encodePrimesInput, splitPrimesRange } from '../../wasm/tasks/primes/codec.ts';
import { countPrimesReference } from '../../wasm/tasks/primes/reference.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN_KEY = 'package-test-admin-key-0123456789';
/** The ranges every job here counts primes in, one task each. */
const RANGES = splitPrimesRange(1_000_000, 1_240_000, 20_000);

let dir: string;
let app: string;
let url: string;
let siteKey: string;
let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };
const children: ChildProcess[] = [];
const output = new Map<ChildProcess, string>();

/** Runs `command` to the end; its exit status and output. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 200_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts `npx sparecycles ARGS` in the install folder, in its own process group (stopped in afterAll). */
function start(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn('npx', ['--no-install', 'sparecycles', ...args], { cwd: app, env, detached: true });
  children.push(child);
  output.set(child, '');
  const keep = (chunk: Buffer) => output.set(child, output.get(child) + chunk.toString('utf8'));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const api = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...init.headers } });

/** Every range's count, as the primes module's outputs should say. */
const expectedCounts = (): number[] => RANGES.map(({ lo, hi }) => countPrimesReference(lo, hi));

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/node/client/src/cli/bin.js'))) {
    throw new Error('dist/node is missing: run `npm run build` before `npm run test:package`');
  }
  dir = await mkdtemp(join(tmpdir(), 'sc-package-'));
  app = join(dir, 'app');
  await mkdir(app);
  await mkdir(join(dir, 'home'));

  // The tree is already built (npm test builds first): skip prepack's second build.
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
  expect(pack.status, pack.stderr).toBe(0);
  [packed] = JSON.parse(pack.stdout);

  const started = Date.now();
  const install = run('npm', ['install', '--no-audit', '--no-fund', join(dir, packed.filename)], app);
  expect(install.status, install.stderr).toBe(0);
  console.log(
    `package: ${packed.filename} ${(packed.size / 1024).toFixed(0)} kB packed, ${(packed.unpackedSize / 1024).toFixed(0)} kB unpacked, ` +
      `${packed.files.length} files; npm install took ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );

  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const env = { ...process.env, HOME: join(dir, 'home') };
  start(['serve'], {
    ...env,
    PORT: String(port),
    DEMO_PORT: String(await freePort()),
    HOST: '127.0.0.1',
    DATA_DIR: join(dir, 'data'),
    SPARECYCLES_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'warn',
  });
  await until('the coordinator', async () => ((await fetch(`${url}/api/v1/health`)).ok ? true : undefined), 30_000);

  const site = await api('/sites', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'package test', origins: ['http://localhost:9'] }),
  });
  expect(site.status).toBe(201);
  siteKey = (await site.json()).siteKey;
  start(['volunteer', '--url', url, '--site', siteKey], env);
}, 300_000);

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
  }
  await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds compiled JavaScript and the built assets, and no TypeScript sources or tests', () => {
    const paths = packed.files.map((file) => file.path);
    for (const needed of [
      'dist/node/client/src/cli/bin.js',
      'dist/node/server/src/main.js',
      'dist/node/client/src/agent/thread-worker.js',
      'dist/node/server/src/demo/public/demo.js',
      'dist/client/frame.html',
      'dist/client/embed.js',
      'dist/client/api.js',
      'dist/wasm/primes.wasm',
      'dist/wasm/mandelbrot.wasm',
    ]) {
      expect(paths, needed).toContain(needed);
    }
    expect(paths.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
    expect(paths.filter((path) => /\.test\.|testing/.test(path))).toEqual([]);
  });

  it('installs without tsx, TypeScript or the build tools', () => {
    for (const tool of ['tsx', 'typescript', 'vite', 'assemblyscript', 'vitest']) {
      expect(existsSync(join(app, 'node_modules', tool)), tool).toBe(false);
    }
  });
});

describe('npx sparecycles serve, from the installed package', () => {
  it('serves the API, its document, the docs page and the built client', async () => {
    expect((await fetch(`${url}/api/v1/openapi.json`)).status).toBe(200);
    expect((await fetch(`${url}/docs`)).status).toBe(200);
    expect((await fetch(`${url}/embed.js`)).status).toBe(200);
    const frame = await fetch(`${url}/frame?site=${siteKey}`);
    expect(frame.status).toBe(200);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await frame.text())?.[1];
    expect(script).toBeDefined();
    expect((await fetch(`${url}${script}`)).status).toBe(200);
  });

  it('runs a job submitted with fetch on `npx sparecycles volunteer`, with the right results', async () => {
    const wasm = await readFile(join(app, 'node_modules/sparecycles/dist/wasm/primes.wasm'));
    const upload = await api('/modules', { method: 'POST', headers: { 'content-type': 'application/wasm' }, body: wasm });
    expect(upload.status).toBeLessThan(300);
    const created = await api('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        module: (await upload.json()).hash,
        inputs: RANGES.map(({ lo, hi }) => Buffer.from(encodePrimesInput(lo, hi)).toString('base64')),
      }),
    });
    expect(created.status).toBe(201);
    const { id } = await created.json();
    await until(
      'the job',
      async () => ((await (await api(`/jobs/${id}`)).json()).state === 'completed' ? true : undefined),
      90_000,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${[...output.values()].join('\n')}`);
    });
    const lines = (await (await api(`/jobs/${id}/results`)).text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.state)).toEqual(RANGES.map(() => 'completed'));
    expect(lines.map((line) => decodePrimesOutput(Buffer.from(line.output, 'base64')))).toEqual(expectedCounts());
  });

  // Needs the CLI's commands (client/src/cli): `key create`, then `job run` with the author's key.
  it('makes an author key with `key create` and runs a job with `job run` into a results file', async () => {
    const env = { ...process.env, HOME: join(dir, 'home'), SPARECYCLES_URL: url, SPARECYCLES_KEY: ADMIN_KEY };
    const key = run('npx', ['--no-install', 'sparecycles', 'key', 'create', '--role', 'author', '--name', 'package test'], app, env);
    expect(key.status, key.stdout + key.stderr).toBe(0);
    const secret = /sc_[A-Za-z0-9_-]{43}/.exec(key.stdout)?.[0];
    expect(secret, key.stdout).toBeDefined();

    const inputs = join(dir, 'inputs.ndjson');
    const results = join(dir, 'results.ndjson');
    await writeFile(inputs, RANGES.map(({ lo, hi }) => `${JSON.stringify({ base64: Buffer.from(encodePrimesInput(lo, hi)).toString('base64') })}\n`).join(''));
    const job = run(
      'npx',
      ['--no-install', 'sparecycles', 'job', 'run', '--module', join(app, 'node_modules/sparecycles/dist/wasm/primes.wasm'), '--inputs', inputs, '--out', results],
      app,
      { ...env, SPARECYCLES_KEY: secret },
    );
    expect(job.status, job.stdout + job.stderr).toBe(0);
    const lines = (await readFile(results, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.index)).toEqual(RANGES.map((_, index) => index));
    expect(lines.map((line) => decodePrimesOutput(Buffer.from(line.output, 'base64')))).toEqual(expectedCounts());
  });
});
