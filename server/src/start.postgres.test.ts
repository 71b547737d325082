/**
 * DATABASE_URL puts the coordinator on PostgreSQL: two coordinator processes on one throwaway
 * cluster share what they store, so a module uploaded through one is served by the other.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTaskWasm } from '../../wasm/testing/task-modules.ts';
import { freePort } from './http/testing.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from './store/postgres-testing.ts';

const ADMIN_KEY = 'sc_admin_postgres_nodes_test_key';

let cluster: ThrowawayPostgres | undefined;
const children: ChildProcess[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  cluster = await startThrowawayPostgres({ fsyncOff: true });
}, 30_000);

afterAll(async () => {
  await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : (child.once('exit', resolve), child.kill('SIGTERM'))))));
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  await cluster?.stop();
});

/** Starts main.ts on PostgreSQL; resolves with its URL once it prints its banner. */
async function startNode(databaseUrl: string): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sc-pg-node-'));
  dirs.push(dataDir);
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    env: { PATH: process.env['PATH'] ?? '', DATA_DIR: dataDir, PORT: String(port), DATABASE_URL: databaseUrl, SPARECYCLES_ADMIN_KEY: ADMIN_KEY, SPARECYCLES_DEMO: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/database\s+postgres:\/\//.test(stdout)) resolve(`http://127.0.0.1:${port}`);
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`coordinator exited with ${code}: ${stderr}`)));
  });
}

describe('coordinator on PostgreSQL (DATABASE_URL)', () => {
  it('keeps its data in the database, and any node serves a module uploaded through another', async () => {
    const url = cluster!.url;
    const [a, b] = await Promise.all([startNode(url), startNode(url)]);
    const bytes = await loadTaskWasm('primes');
    const uploaded = await fetch(`${a}/api/v1/modules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/wasm' },
      body: bytes,
    });
    expect(uploaded.status).toBe(201);
    const { hash } = (await uploaded.json()) as { hash: string };

    const served = await fetch(`${b}/modules/${hash}.wasm`);
    expect(served.status).toBe(200);
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(bytes);
    expect((await fetch(`${b}/api/v1/modules/${hash}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status).toBe(200);

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      expect((await db.query('select size from modules where hash = $1', [hash])).rows).toEqual([{ size: bytes.byteLength }]);
    } finally {
      await db.end();
    }
  }, 60_000);
});
