import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseEnv } from './config.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'sc-config-'));
  dirs.push(dir);
  return dir;
};

describe('parseEnv', () => {
  it('applies the documented defaults', () => {
    const config = parseEnv({});
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.demoPort).toBe(8081);
    expect(config.publicUrl).toBe('http://127.0.0.1:8080');
    expect(config.operatorName).toBe('127.0.0.1:8080');
    expect(config.demo).toBe(true);
    expect(config.adminKey).toBeUndefined();
    expect(config.dataDir.endsWith('data')).toBe(true);
    expect(config.limits).toEqual({
      maxModuleBytes: 8 * 1024 * 1024,
      maxMemoryBytes: 256 * 1024 * 1024,
      maxOutputBytes: 4 * 1024 * 1024,
      maxJobBodyBytes: 64 * 1024 * 1024,
      maxInputBytes: 1024 * 1024,
      maxTasksPerJob: 5_000_000,
      streamIdleMs: 30_000,
      defaultDeadlineMs: 30_000,
      defaultMaxAttempts: 3,
      maxRunInputBytes: 1024 * 1024,
      runSitePerMinute: 600,
      maxActiveJobs: 1000,
      authFailureBurst: 10,
      authFailuresPerMinute: 60,
    });
  });

  it('reads every variable', () => {
    const config = parseEnv({
      PORT: '9000',
      HOST: '0.0.0.0',
      DEMO_PORT: '9100',
      SPARECYCLES_DEMO: '0',
      SPARECYCLES_ADMIN_KEY: 'k'.repeat(20),
      PUBLIC_URL: 'https://Grid.Example.com/',
      SPARECYCLES_MAX_MODULE_BYTES: '1MiB',
      SPARECYCLES_MAX_MEMORY_BYTES: '65536',
      SPARECYCLES_MAX_OUTPUT_BYTES: '2048',
      SPARECYCLES_DEADLINE_MS: '500',
      SPARECYCLES_MAX_ATTEMPTS: '7',
      SPARECYCLES_MAX_ACTIVE_JOBS: '5',
      SPARECYCLES_AUTH_FAILURE_BURST: '3',
      SPARECYCLES_AUTH_FAILURES_PER_MINUTE: '6',
      SPARECYCLES_MAX_INPUT_BYTES: '4KiB',
      SPARECYCLES_MAX_TASKS_PER_JOB: '1000',
      SPARECYCLES_STREAM_IDLE_MS: '2000',
      SPARECYCLES_OPERATOR: '  Université de Nantes — calcul  ',
    });
    expect(config).toMatchObject({ port: 9000, host: '0.0.0.0', demoPort: 9100, demo: false, adminKey: 'k'.repeat(20) });
    expect(config.operatorName).toBe('Université de Nantes — calcul');
    expect(config.publicUrl).toBe('https://grid.example.com');
    expect(config.limits).toMatchObject({ maxModuleBytes: 1024 * 1024, maxMemoryBytes: 65536, maxOutputBytes: 2048, defaultDeadlineMs: 500, defaultMaxAttempts: 7 });
    expect(config.limits).toMatchObject({ maxActiveJobs: 5, authFailureBurst: 3, authFailuresPerMinute: 6 });
    expect(config.limits).toMatchObject({ maxInputBytes: 4096, maxTasksPerJob: 1000, streamIdleMs: 2000 });
  });

  it('derives DEMO_PORT from PORT and a usable PUBLIC_URL from a wildcard HOST', () => {
    expect(parseEnv({ PORT: '3000', HOST: '0.0.0.0' })).toMatchObject({ demoPort: 3001, publicUrl: 'http://localhost:3000' });
  });

  it("names the operator by the public URL's host unless SPARECYCLES_OPERATOR says otherwise", () => {
    expect(parseEnv({ PUBLIC_URL: 'https://grid.example.com' }).operatorName).toBe('grid.example.com');
    expect(parseEnv({ PUBLIC_URL: 'https://grid.example.com:8443', SPARECYCLES_OPERATOR: ' ' }).operatorName).toBe('grid.example.com:8443');
    expect(parseEnv({ SPARECYCLES_OPERATOR: 'x'.repeat(100) }).operatorName).toBe('x'.repeat(100));
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DEMO_PORT: '-1' }, 'DEMO_PORT'],
    [{ PORT: '9000', DEMO_PORT: '9000' }, 'DEMO_PORT'],
    [{ DATABASE_URL: 'mysql://db/sc' }, 'DATABASE_URL'],
    [{ SPARECYCLES_DEMO: 'maybe' }, 'SPARECYCLES_DEMO'],
    [{ SPARECYCLES_MAX_TASKS_PER_JOB: '0' }, 'SPARECYCLES_MAX_TASKS_PER_JOB'],
    [{ SPARECYCLES_MAX_INPUT_BYTES: 'big' }, 'SPARECYCLES_MAX_INPUT_BYTES'],
    [{ PUBLIC_URL: 'not a url' }, 'PUBLIC_URL'],
    [{ PUBLIC_URL: 'ftp://grid.example.com' }, 'PUBLIC_URL'],
    [{ PUBLIC_URL: 'https://grid.example.com/path' }, 'PUBLIC_URL'],
    [{ SPARECYCLES_ADMIN_KEY: 'short' }, 'SPARECYCLES_ADMIN_KEY'],
    [{ SPARECYCLES_MAX_MEMORY_BYTES: '100000' }, 'SPARECYCLES_MAX_MEMORY_BYTES'],
    [{ SPARECYCLES_MAX_MODULE_BYTES: '8 parsecs' }, 'SPARECYCLES_MAX_MODULE_BYTES'],
    [{ SPARECYCLES_MAX_ATTEMPTS: '0' }, 'SPARECYCLES_MAX_ATTEMPTS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ SPARECYCLES_OPERATOR: 'x'.repeat(101) }, 'SPARECYCLES_OPERATOR'],
    [{ SPARECYCLES_OPERATOR: 'two\nlines' }, 'SPARECYCLES_OPERATOR'],
    [{ SPARECYCLES_OPERATOR: 'lone \ud800' }, 'SPARECYCLES_OPERATOR'],
  ])('refuses %o naming %s', (env, variable) => {
    let thrown: unknown;
    try {
      parseEnv(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).variable).toBe(variable);
    expect((thrown as ConfigError).message).toContain(variable);
  });

  it('takes a PostgreSQL DATABASE_URL, and none means SQLite', () => {
    expect(parseEnv({ DATABASE_URL: ' postgres://db:5432/sc ' }).databaseUrl).toBe('postgres://db:5432/sc');
    expect(parseEnv({}).databaseUrl).toBeUndefined();
  });
});

describe('loadConfig', () => {
  it('generates an admin key once and keeps it in DATA_DIR across restarts', () => {
    const dataDir = join(tempDir(), 'nested', 'data');
    let made = 0;
    const newKey = () => `generated-key-${++made}-0123456789`;
    const first = loadConfig(newKey, { DATA_DIR: dataDir });
    const second = loadConfig(newKey, { DATA_DIR: dataDir });
    expect(first.adminKey).toBe('generated-key-1-0123456789');
    expect(second.adminKey).toBe(first.adminKey);
    expect(first.adminKeyGenerated).toBe(true);
    expect(made).toBe(1);
    expect(readFileSync(join(dataDir, 'admin-key'), 'utf8').trim()).toBe(first.adminKey);
    expect(statSync(join(dataDir, 'admin-key')).mode & 0o777).toBe(0o600);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.limits)).toBe(true);
  });

  it('uses SPARECYCLES_ADMIN_KEY when set, writing nothing', () => {
    const dataDir = tempDir();
    const config = loadConfig(() => 'never-used-0123456789', { DATA_DIR: dataDir, SPARECYCLES_ADMIN_KEY: 'operator-key-0123456789' });
    expect(config).toMatchObject({ adminKey: 'operator-key-0123456789', adminKeyGenerated: false });
    expect(() => statSync(join(dataDir, 'admin-key'))).toThrow();
  });
});
