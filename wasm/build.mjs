#!/usr/bin/env node
/**
 * Compiles the example task modules (wasm/tasks/<name>/assembly/index.ts) with AssemblyScript
 * into dist/wasm/<name>.wasm, all in parallel (one `asc` process each), and writes
 * dist/wasm/manifest.json: { [name]: { file, sha256, size } }.
 *
 * A module is rebuilt only when its sources, the flags or the compiler version changed (a hash of
 * all of them is kept next to the output), so an up-to-date run is quiet and takes milliseconds.
 *
 * Usage: node wasm/build.mjs [--force] [--verbose] [name...]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tasksDir = join(root, 'wasm', 'tasks');
const outDir = join(root, 'dist', 'wasm');
const ascBin = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');

/** Flags every module is built with: optimised, the smallest runtime, no debug asserts. */
const ASC_FLAGS = ['-O3', '--runtime', 'stub', '--noAssert'];

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

async function exists(path) {
  return stat(path).then(() => true, () => false);
}

/** Every file under `dir`, as sorted relative paths. */
async function listFiles(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

async function taskNames() {
  const entries = await readdir(tasksDir, { withFileTypes: true });
  const names = [];
  for (const e of entries) {
    if (e.isDirectory() && (await exists(join(tasksDir, e.name, 'assembly', 'index.ts')))) names.push(e.name);
  }
  return names.sort();
}

/** A hash of everything that decides the output: compiler version, flags, sources. */
async function inputsHash(name, ascVersion) {
  const dir = join(tasksDir, name, 'assembly');
  const hash = createHash('sha256').update(`asc ${ascVersion}\0${ASC_FLAGS.join(' ')}\0`);
  for (const file of await listFiles(dir)) {
    hash.update(`${file}\0`).update(await readFile(join(dir, file))).update('\0');
  }
  return hash.digest('hex');
}

function runAsc(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ascBin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (error) => resolve({ code: 1, output: String(error) }));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

async function readStamp(path) {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Builds one module unless it is up to date; returns its manifest entry and whether it was built. */
async function build(name, ascVersion, force) {
  const wasmPath = join(outDir, `${name}.wasm`);
  const stampPath = join(outDir, `${name}.stamp.json`);
  const inputs = await inputsHash(name, ascVersion);
  const stamp = await readStamp(stampPath);
  if (!force && stamp?.inputs === inputs && (await exists(wasmPath))) {
    const bytes = await readFile(wasmPath);
    if (sha256(bytes) === stamp.sha256) return { name, built: false, entry: entryFor(name, bytes, stamp.sha256) };
  }
  // A private temporary name, then rename: concurrent builds (parallel test files) never see half a file.
  const tmpPath = `${wasmPath}.${process.pid}.${Date.now()}.tmp`;
  const source = relative(root, join(tasksDir, name, 'assembly', 'index.ts'));
  const { code, output } = await runAsc([source, '-o', relative(root, tmpPath), ...ASC_FLAGS]);
  if (code !== 0) {
    await rm(tmpPath, { force: true });
    throw new Error(`asc failed for ${name} (exit code ${code}):\n${output.trim()}`);
  }
  const bytes = await readFile(tmpPath);
  await rename(tmpPath, wasmPath);
  const hash = sha256(bytes);
  await writeAtomic(stampPath, `${JSON.stringify({ inputs, sha256: hash })}\n`);
  return { name, built: true, entry: entryFor(name, bytes, hash) };
}

async function writeAtomic(path, text) {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

function entryFor(name, bytes, hash) {
  return { file: `${name}.wasm`, sha256: hash, size: bytes.length };
}

async function main(argv) {
  const force = argv.includes('--force');
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const unknownFlags = argv.filter((a) => a.startsWith('-') && !['--force', '--verbose', '-v'].includes(a));
  if (unknownFlags.length > 0) throw new Error(`unknown option ${unknownFlags[0]}; usage: node wasm/build.mjs [--force] [--verbose] [name...]`);
  const all = await taskNames();
  const wanted = argv.filter((a) => !a.startsWith('-'));
  const missing = wanted.filter((n) => !all.includes(n));
  if (missing.length > 0) throw new Error(`no task module named ${missing.join(', ')}; known: ${all.join(', ')}`);
  const names = wanted.length > 0 ? wanted : all;

  const { version: ascVersion } = JSON.parse(await readFile(join(root, 'node_modules', 'assemblyscript', 'package.json'), 'utf8'));
  await mkdir(outDir, { recursive: true });
  const started = performance.now();
  const results = await Promise.allSettled(names.map((n) => build(n, ascVersion, force)));
  const failures = results.filter((r) => r.status === 'rejected');
  const done = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);

  const manifestPath = join(outDir, 'manifest.json');
  // A full build lists exactly the modules that exist; a partial one updates its own entries.
  const previous = wanted.length > 0 ? ((await readStamp(manifestPath)) ?? {}) : {};
  const entries = { ...previous, ...Object.fromEntries(done.map((d) => [d.name, d.entry])) };
  const manifest = Object.fromEntries(Object.keys(entries).sort().map((k) => [k, entries[k]]));
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  if (text !== (await readFile(manifestPath, 'utf8').catch(() => ''))) await writeAtomic(manifestPath, text);

  const ms = Math.round(performance.now() - started);
  for (const { name, built, entry } of done) {
    if (built || verbose) {
      const what = built ? 'built' : 'up to date';
      console.log(`wasm: ${what} ${relative(root, join(outDir, entry.file))} (${entry.size} bytes, sha256 ${entry.sha256.slice(0, 12)}…)`);
    }
  }
  if (verbose) console.log(`wasm: ${names.length} module(s) in ${ms} ms`);
  for (const f of failures) console.error(f.reason instanceof Error ? f.reason.message : f.reason);
  return failures.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`wasm build: ${error instanceof Error ? error.message : error}`);
    process.exitCode = 1;
  },
);
