/**
 * Where this package's files are, whether it runs from source (`server/src/*.ts` through tsx) or
 * compiled and installed (`dist/node/server/src/*.js` under `node_modules/sparecycles`): the nearest
 * folder above this module that holds a `package.json`. Built assets (`dist/client`, `dist/wasm`)
 * are found from there, whatever the working directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder at or above `from` holding a `package.json`. */
export function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** This package's root folder. */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** This package's version, as its `package.json` says. */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
