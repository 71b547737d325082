import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFilePath, readConfigFile, resolveConnection, writeConfigFile } from './config.ts';
import { UsageError } from './exit.ts';

const file = { url: 'http://file.example:8080', key: 'file-key' };
const filePath = '/cfg/sparecycles/config.json';

describe('configFilePath', () => {
  it.each([
    [{ XDG_CONFIG_HOME: '/xdg', HOME: '/home/a' }, '/xdg/sparecycles/config.json'],
    [{ HOME: '/home/a' }, '/home/a/.config/sparecycles/config.json'],
    [{ XDG_CONFIG_HOME: '', HOME: '/home/b' }, '/home/b/.config/sparecycles/config.json'],
    [{}, '/os-home/.config/sparecycles/config.json'],
  ])('%o → %s', (env, expected) => {
    expect(configFilePath(env, '/os-home')).toBe(expected);
  });
});

describe('resolveConnection', () => {
  it.each([
    ['flags win over everything', { url: 'http://flag:1', key: 'flag-key' }, { SPARECYCLES_URL: 'http://env:2', SPARECYCLES_KEY: 'env-key' }, file, ['http://flag:1', 'flag-key', '--url', '--key']],
    ['the environment wins over the file', {}, { SPARECYCLES_URL: 'http://env:2', SPARECYCLES_KEY: 'env-key' }, file, ['http://env:2', 'env-key', 'SPARECYCLES_URL', 'SPARECYCLES_KEY']],
    ['the file fills in what is left', {}, {}, file, ['http://file.example:8080', 'file-key', filePath, filePath]],
    ['each half independently', { key: 'flag-key' }, { SPARECYCLES_URL: 'http://env:2' }, file, ['http://env:2', 'flag-key', 'SPARECYCLES_URL', '--key']],
    ['a blank variable does not count', {}, { SPARECYCLES_URL: '  ', SPARECYCLES_KEY: '' }, file, ['http://file.example:8080', 'file-key', filePath, filePath]],
    ['a URL with a path is reduced to its origin', { url: 'https://grid.example.com/api/', key: 'k' }, {}, undefined, ['https://grid.example.com', 'k', '--url', '--key']],
  ])('%s', (_name, flags, env, stored, [url, key, urlFrom, keyFrom]) => {
    expect(resolveConnection({ flags, env, file: stored, filePath })).toEqual({ url, key, urlFrom, keyFrom });
  });

  it('names every way to give a missing URL or key', () => {
    expect(() => resolveConnection({ flags: {}, env: {}, file: undefined, filePath })).toThrow(/--url.*SPARECYCLES_URL.*sparecycles login/);
    expect(() => resolveConnection({ flags: { url: 'http://a:1' }, env: {}, file: undefined, filePath })).toThrow(/--key.*SPARECYCLES_KEY.*sparecycles login/);
  });

  it('refuses a bad URL naming where it came from', () => {
    expect(() => resolveConnection({ flags: {}, env: { SPARECYCLES_URL: 'not a url', SPARECYCLES_KEY: 'k' }, file: undefined, filePath })).toThrow(
      /SPARECYCLES_URL: "not a url" is not a URL/,
    );
    expect(() => resolveConnection({ flags: { url: 'ftp://x', key: 'k' }, env: {}, file: undefined, filePath })).toThrow(UsageError);
  });
});

describe('the config file', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('is written readable by its owner only, and read back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sc-cli-config-'));
    dirs.push(dir);
    const path = join(dir, 'sparecycles', 'config.json');
    expect(await readConfigFile(path)).toBeUndefined();
    await writeFile(join(dir, 'placeholder'), '');
    await writeConfigFile(path, file);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readConfigFile(path)).toEqual(file);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(file);
  });

  it('tightens the mode of a file that already existed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sc-cli-config-'));
    dirs.push(dir);
    const path = join(dir, 'config.json');
    await writeFile(path, '{}', { mode: 0o644 });
    await writeConfigFile(path, file);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('a damaged file is a usage error that says how to fix it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sc-cli-config-'));
    dirs.push(dir);
    const path = join(dir, 'config.json');
    await writeFile(path, '{"url": 1}');
    await expect(readConfigFile(path)).rejects.toThrow(/sparecycles login URL KEY/);
  });
});
