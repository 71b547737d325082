import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from './http/testing.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Runs main.ts with `env` until it exits (or `until` matches its stdout, then SIGTERM). */
function run(env: Record<string, string>, until?: RegExp): Promise<{ code: number | null; stdout: string; stderr: string; matched: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let matched = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (until && !matched && until.test(stdout)) {
        matched = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr, matched }));
  });
}

describe('main', () => {
  it.each([
    [{ PORT: 'abc' }, /PORT/],
    [{ DATABASE_URL: 'sqlite://localhost/sc' }, /DATABASE_URL: expected a postgres:\/\//],
    [{ SPARECYCLES_MAX_MEMORY_BYTES: '1000' }, /SPARECYCLES_MAX_MEMORY_BYTES/],
  ])('exits 2 naming the variable for %o', async (env, message) => {
    const dir = await mkdtemp(join(tmpdir(), 'sc-main-'));
    dirs.push(dir);
    const result = await run({ DATA_DIR: dir, ...env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('starts, prints its URLs and generated admin key, and shuts down on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sc-main-'));
    dirs.push(dir);
    const port = await freePort();
    const result = await run({ DATA_DIR: dir, PORT: String(port), SPARECYCLES_DEMO: '0', LOG_LEVEL: 'warn' }, /admin key\s+sc_admin_/);
    expect(result.matched).toBe(true);
    expect(result.stdout).toContain(`http://127.0.0.1:${port}`);
    expect(result.code).toBe(0);
  });
});
