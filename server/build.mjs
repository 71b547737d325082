#!/usr/bin/env node
/**
 * Compiles what runs in Node (the coordinator, the volunteer agent, the page API's types, the SDK and
 * the CLI) from TypeScript to JavaScript in dist/node (tsconfig.build.json: `.ts` import specifiers
 * become `.js`), after removing the previous output so nothing stale ships, and copies the demo's
 * browser scripts (served as they are) beside the compiled demo.
 *
 * Usage: node server/build.mjs
 */
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'dist', 'node');

rmSync(outDir, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
cpSync(join(root, 'server', 'src', 'demo', 'public'), join(outDir, 'server', 'src', 'demo', 'public'), { recursive: true });
