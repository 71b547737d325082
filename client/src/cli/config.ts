/**
 * Where the CLI finds its coordinator and key: `--url`/`--key`, then `SPARECYCLES_URL` /
 * `SPARECYCLES_KEY`, then the file `sparecycles login` writes
 * (`$XDG_CONFIG_HOME/sparecycles/config.json`, by default `~/.config/sparecycles/config.json`).
 * Resolution is pure; reading and writing the file are the two I/O functions at the bottom.
 * The only file of the CLI that reads the environment.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { UsageError } from './exit.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** What `sparecycles login` keeps. */
export const StoredConfig = Type.Object({ url: Type.String({ minLength: 1 }), key: Type.String({ minLength: 1 }) });
export type StoredConfig = Static<typeof StoredConfig>;

/** A coordinator to call, and where each half came from (for error messages). */
export interface Connection {
  url: string;
  key: string;
  urlFrom: string;
  keyFrom: string;
}

/** The config file's path: `$XDG_CONFIG_HOME`, else `$HOME/.config` (else the OS's home). */
export function configFilePath(env: Env, home: string = homedir()): string {
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || home, '.config');
  return join(base, 'sparecycles', 'config.json');
}

/** The coordinator's origin, or a usage error naming where the bad value came from. */
export function coordinatorUrl(value: string, from: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${from}: "${value}" is not a URL; expected e.g. http://127.0.0.1:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${from}: "${value}" must use http or https`);
  return url.origin;
}

function pick(flag: string | undefined, flagName: string, env: Env, variable: string, file: StoredConfig | undefined, field: keyof StoredConfig, filePath: string) {
  if (flag) return { value: flag, from: flagName };
  const fromEnv = env[variable]?.trim();
  if (fromEnv) return { value: fromEnv, from: variable };
  if (file) return { value: file[field], from: filePath };
  return undefined;
}

/** Resolves each of URL and key independently: flag, then environment, then the config file. */
export function resolveConnection(sources: {
  flags: { url?: string | undefined; key?: string | undefined };
  env: Env;
  file: StoredConfig | undefined;
  filePath: string;
}): Connection {
  const { flags, env, file, filePath } = sources;
  const url = pick(flags.url, '--url', env, 'SPARECYCLES_URL', file, 'url', filePath);
  const key = pick(flags.key, '--key', env, 'SPARECYCLES_KEY', file, 'key', filePath);
  if (!url) throw new UsageError('no coordinator: pass --url URL, set SPARECYCLES_URL, or run `sparecycles login URL KEY` once');
  if (!key) throw new UsageError('no key: pass --key KEY, set SPARECYCLES_KEY, or run `sparecycles login URL KEY` once');
  return { url: coordinatorUrl(url.value, url.from), key: key.value, urlFrom: url.from, keyFrom: key.from };
}

/** The stored config, `undefined` when there is none; a damaged file is a usage error naming it. */
export async function readConfigFile(path: string): Promise<StoredConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!Value.Check(StoredConfig, parsed)) {
    throw new UsageError(`${path} is not a sparecycles config ({"url", "key"}); run \`sparecycles login URL KEY\` to rewrite it`);
  }
  return { url: parsed.url, key: parsed.key };
}

/** Writes the config readable by its owner only (it holds a secret). */
export async function writeConfigFile(path: string, config: StoredConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify({ url: config.url, key: config.key }, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created; an older file keeps its mode without this.
  await chmod(path, 0o600);
}
