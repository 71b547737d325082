/** `--module FILE|HASH`: a file's bytes when such a file exists, else a module hash. */
import { readFile } from 'node:fs/promises';
import { UsageError } from './exit.ts';

const HASH = /^[0-9a-f]{64}$/;

export type ModuleSource = { kind: 'file'; path: string; bytes: Uint8Array } | { kind: 'hash'; hash: string };

export async function readModuleSource(value: string): Promise<ModuleSource> {
  try {
    return { kind: 'file', path: value, bytes: new Uint8Array(await readFile(value)) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENAMETOOLONG') throw new UsageError(`cannot read the module ${value}: ${(error as Error).message}`);
  }
  if (HASH.test(value)) return { kind: 'hash', hash: value };
  throw new UsageError(`--module ${value}: no such file, and not a module hash (64 hex digits)`);
}
