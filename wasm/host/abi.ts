/**
 * The task ABI's shape checks: which of the two accepted module shapes a compiled module has,
 * or exactly what keeps it from having either. Used by the runtime before running a module and
 * by the coordinator when a module is uploaded.
 */
import { readFunctionSignatures } from './signatures.ts';
import type { FunctionSignatures } from './signatures.ts';

/** The two module shapes sparecycles runs. */
export type TaskAbi = 'bytes' | 'wasi';

/** Either the module's shape or one sentence naming every problem found. */
export type Classification = { abi: TaskAbi } | { problem: string };

/** Import namespace of the WASI preview 1 functions. */
export const WASI_NAMESPACE = 'wasi_snapshot_preview1';

/** The runtime's own import namespace for bytes-ABI modules. */
export const RUNTIME_NAMESPACE = 'sparecycles';

/** Imports a bytes-ABI module may declare, as `module.name`; all are functions. */
export const BYTES_ABI_IMPORTS: readonly string[] = ['env.abort', `${RUNTIME_NAMESPACE}.progress`];

/** Function types the bytes ABI fixes, as `readFunctionSignatures` writes them. */
const BYTES_EXPORT_TYPES: Record<string, string> = { alloc: '(i32) -> i32', run: '(i32, i32) -> i32' };
const BYTES_IMPORT_TYPES: Record<string, string> = {
  'env.abort': '(i32, i32, i32, i32) -> ()',
  [`${RUNTIME_NAMESPACE}.progress`]: '(f64) -> ()',
};
const WASI_EXPORT_TYPES: Record<string, string> = { _start: '() -> ()' };

/** Every function of WASI preview 1 (`wasi_snapshot_preview1`), all of which the host provides. */
export const WASI_PREVIEW1_FUNCTIONS: readonly string[] = [
  'args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get', 'clock_res_get', 'clock_time_get',
  'fd_advise', 'fd_allocate', 'fd_close', 'fd_datasync', 'fd_fdstat_get', 'fd_fdstat_set_flags',
  'fd_fdstat_set_rights', 'fd_filestat_get', 'fd_filestat_set_size', 'fd_filestat_set_times', 'fd_pread',
  'fd_prestat_get', 'fd_prestat_dir_name', 'fd_pwrite', 'fd_read', 'fd_readdir', 'fd_renumber', 'fd_seek',
  'fd_sync', 'fd_tell', 'fd_write', 'path_create_directory', 'path_filestat_get', 'path_filestat_set_times',
  'path_link', 'path_open', 'path_readlink', 'path_remove_directory', 'path_rename', 'path_symlink',
  'path_unlink_file', 'poll_oneoff', 'proc_exit', 'proc_raise', 'sched_yield', 'random_get', 'sock_accept',
  'sock_recv', 'sock_send', 'sock_shutdown',
];

const WASI_FUNCTIONS = new Set(WASI_PREVIEW1_FUNCTIONS);

type Descriptor = { name: string; kind: WebAssembly.ImportExportKind };

function requireExport(exports: Map<string, WebAssembly.ImportExportKind>, name: string, kind: 'function' | 'memory', problems: string[]): void {
  const actual = exports.get(name);
  if (actual === undefined) problems.push(`missing export \`${name}\` (${kind})`);
  else if (actual !== kind) problems.push(`export \`${name}\` must be a ${kind}, not a ${actual}`);
}

function checkBytes(imports: WebAssembly.ModuleImportDescriptor[], exports: Map<string, WebAssembly.ImportExportKind>): string[] {
  const problems: string[] = [];
  requireExport(exports, 'memory', 'memory', problems);
  requireExport(exports, 'alloc', 'function', problems);
  requireExport(exports, 'run', 'function', problems);
  for (const imp of imports) {
    const name = `${imp.module}.${imp.name}`;
    if (!BYTES_ABI_IMPORTS.includes(name)) {
      problems.push(`import \`${name}\` is not allowed; allowed: ${BYTES_ABI_IMPORTS.join(', ')}`);
    } else if (imp.kind !== 'function') {
      problems.push(`import \`${name}\` must be a function, not a ${imp.kind}`);
    }
  }
  return problems;
}

function checkWasi(imports: WebAssembly.ModuleImportDescriptor[], exports: Map<string, WebAssembly.ImportExportKind>): string[] {
  const problems: string[] = [];
  requireExport(exports, '_start', 'function', problems);
  requireExport(exports, 'memory', 'memory', problems);
  for (const imp of imports) {
    const name = `${imp.module}.${imp.name}`;
    if (imp.module !== WASI_NAMESPACE) {
      problems.push(`import \`${name}\` is not allowed; a WASI command may import only ${WASI_NAMESPACE}.*`);
    } else if (imp.kind !== 'function') {
      problems.push(`import \`${name}\` must be a function, not a ${imp.kind}`);
    } else if (!WASI_FUNCTIONS.has(imp.name)) {
      problems.push(`import \`${name}\` is not a WASI preview 1 function`);
    }
  }
  return problems;
}

function checkTypes(
  signatures: FunctionSignatures,
  exportTypes: Record<string, string>,
  importTypes: Record<string, string>,
): string[] {
  const problems: string[] = [];
  for (const [name, expected] of Object.entries(exportTypes)) {
    const actual = signatures.exports.get(name);
    if (actual !== undefined && actual !== expected) problems.push(`export \`${name}\` has type ${actual}; expected ${expected}`);
  }
  for (const [name, expected] of Object.entries(importTypes)) {
    const actual = signatures.imports.get(name);
    if (actual !== undefined && actual !== expected) problems.push(`import \`${name}\` has type ${actual}; expected ${expected}`);
  }
  return problems;
}

function typeProblems(bytes: Uint8Array | undefined, abi: TaskAbi): string[] {
  if (!bytes) return [];
  let signatures: FunctionSignatures | undefined;
  try {
    signatures = readFunctionSignatures(bytes);
  } catch (error) {
    return [`unreadable binary: ${error instanceof Error ? error.message : String(error)}`];
  }
  if (!signatures) return [];
  return abi === 'wasi' ? checkTypes(signatures, WASI_EXPORT_TYPES, {}) : checkTypes(signatures, BYTES_EXPORT_TYPES, BYTES_IMPORT_TYPES);
}

/**
 * Classifies a compiled module as a bytes-ABI module (`memory`, `alloc`, `run`) or a WASI command
 * (`_start`, `memory`, only `wasi_snapshot_preview1` imports). A module exporting `_start` or
 * importing from WASI is judged as a WASI command, any other as a bytes-ABI module; the problem
 * lists everything wrong, separated by "; ". Given the module's `bytes` too, it also checks the
 * types of the ABI's functions (the JS API cannot see them).
 */
export function classifyModule(module: WebAssembly.Module, bytes?: Uint8Array): Classification {
  const imports = WebAssembly.Module.imports(module);
  const exportList: Descriptor[] = WebAssembly.Module.exports(module);
  const exports = new Map(exportList.map((e) => [e.name, e.kind]));
  const looksWasi = exports.has('_start') || imports.some((i) => i.module === WASI_NAMESPACE);
  if (looksWasi && exports.has('run') && exports.has('alloc')) {
    return { problem: 'module has both `_start` (WASI command) and `run`/`alloc` (bytes ABI); export one shape only' };
  }
  const abi: TaskAbi = looksWasi ? 'wasi' : 'bytes';
  const problems = [...(looksWasi ? checkWasi(imports, exports) : checkBytes(imports, exports)), ...typeProblems(bytes, abi)];
  if (problems.length > 0) {
    const shape = looksWasi ? 'WASI command' : 'bytes-ABI module';
    return { problem: `not a valid ${shape}: ${problems.join('; ')}` };
  }
  return { abi };
}
