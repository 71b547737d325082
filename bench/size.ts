/**
 * `npm run size` (part of `npm test`): the gzipped size of what a visitor downloads, against
 * budgets. The loader runs in every host page, before any choice; the frame's banner loads before
 * consent; the runtime and the task worker only after it. Fails (exit 1) when any passes its budget.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

interface Budget {
  name: string;
  /** The built file's name (in dist/client, or a chunk prefix in dist/client/assets). */
  file: RegExp;
  bytes: number;
  what: string;
}

export const BUDGETS: readonly Budget[] = [
  { name: 'loader', file: /^embed\.js$/, bytes: 1024, what: 'in every host page, before any choice' },
  { name: 'page api', file: /^api\.js$/, bytes: 2048, what: "the page's run() API, on its first call" },
  { name: 'frame', file: /^assets\/frame-.*\.js$/, bytes: 12 * 1024, what: 'the banner and control, before consent' },
  { name: 'runtime', file: /^assets\/runtime-.*\.js$/, bytes: 30 * 1024, what: 'socket, pool, cache: after consent' },
  { name: 'worker', file: /^assets\/worker-.*\.js$/, bytes: 12 * 1024, what: 'the task worker: after consent' },
];

const dist = join(process.cwd(), 'dist/client');
const files = [...(await readdir(dist)).map((name) => name), ...(await readdir(join(dist, 'assets'))).map((name) => `assets/${name}`)];

let failed = false;
const rows: string[] = [];
for (const budget of BUDGETS) {
  const matches = files.filter((file) => budget.file.test(file));
  if (matches.length === 0) {
    rows.push(`${budget.name.padEnd(9)} missing: run npm run build`);
    failed = true;
    continue;
  }
  let size = 0;
  for (const file of matches) size += gzipSync(await readFile(join(dist, file)), { level: 9 }).byteLength;
  const over = size > budget.bytes;
  failed ||= over;
  rows.push(`${budget.name.padEnd(9)} ${String(size).padStart(6)} B gzipped  budget ${String(budget.bytes).padStart(6)} B  ${over ? 'OVER' : 'ok  '}  ${budget.what}`);
}
console.log(rows.join('\n'));
if (failed) {
  console.error('size: a bundle is over its budget (or missing)');
  process.exit(1);
}
