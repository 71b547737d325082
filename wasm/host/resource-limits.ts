/**
 * The bounds on what a task module may claim besides its linear memory (whose cap is the
 * operator's). One pure decision, used by the coordinator at upload and by the runtime (browser
 * worker and Node agent alike) before it instantiates anything, so the two always agree.
 *
 * How the numbers were chosen: each is far above what the toolchains we target emit (wasm-ld
 * for Rust, C, Zig and TinyGo, AssemblyScript, Go's linker) and low enough that a module at every
 * limit at once claims a few tens of MB, small beside the default 256 MiB memory cap. Measured
 * in Node 20 (V8, 64-bit): a funcref table costs 16 B of heap and about 28 B of RSS per entry, an
 * externref table 8 B.
 */
import { readModuleResources } from './module-resources.ts';
import type { ModuleResources } from './module-resources.ts';

/** What a module may declare. */
export interface ResourceLimits {
  /** Tables, imported and defined. */
  tables: number;
  /**
   * Entries in all tables together, each counted at its maximum (a table that declares no
   * maximum is counted, and capped by the runtime, at its initial size).
   */
  tableEntries: number;
  /** Memories: the task ABI uses one; more would multiply the memory cap. */
  memories: number;
  globals: number;
  /** Functions, imported and defined. */
  functions: number;
  types: number;
  imports: number;
  exports: number;
  tags: number;
  elementSegments: number;
  /** Entries in all element segments together (passive ones are copied into every instance). */
  elements: number;
  dataSegments: number;
  /** Bytes in all data segments together. */
  dataBytes: number;
  /** Locals in one function (they live on the stack and in the compiler's state per block). */
  localsPerFunction: number;
  /** Struct and array types (GC proposal): their objects would live outside the memory cap. */
  gcTypes: number;
}

/**
 * The limits every sparecycles coordinator and runtime apply. Typical outputs, for scale: a
 * Rust or C `wasm32-wasi` command has one table of a few hundred to a few thousand entries, tens
 * of globals, a few thousand functions and a few hundred types; V8's own limits are 10,000,000
 * table entries, 1,000,000 functions, globals and types, 100,000 data segments and 50,000 locals.
 */
export const RESOURCE_LIMITS: Readonly<ResourceLimits> = Object.freeze({
  tables: 16,
  // ≈ 28 MB of funcref table at most; a large C++ program's indirect-call table has ~100,000.
  tableEntries: 1_000_000,
  memories: 1,
  globals: 100_000,
  functions: 200_000,
  types: 50_000,
  // WASI preview 1 has 46 functions; the bytes ABI allows two imports.
  imports: 1_000,
  exports: 10_000,
  tags: 1_000,
  elementSegments: 10_000,
  elements: 1_000_000,
  dataSegments: 100_000,
  // Data is part of the module's bytes; this bounds it even where the operator allows larger modules.
  dataBytes: 64 * 1024 * 1024,
  localsPerFunction: 10_000,
  gcTypes: 0,
});

const n = (value: number): string => value.toLocaleString('en-US');

function over(problems: string[], what: string, count: number, limit: number): void {
  if (count > limit) problems.push(`${what}: ${n(count)}; the limit is ${n(limit)}`);
}

/**
 * Every way `resources` passes `limits`, as sentences for the author (empty when none). Pure.
 * A table's declared size names the table by its index, e.g. "table 3 declares 10,000,000
 * entries; the limit is 1,000,000 entries in all tables together".
 */
export function resourceProblems(resources: ModuleResources, limits: Readonly<ResourceLimits> = RESOURCE_LIMITS): string[] {
  const problems: string[] = [];
  if (resources.gcTypes > limits.gcTypes) {
    problems.push(`declares ${n(resources.gcTypes)} struct or array types (GC proposal); garbage-collected objects escape the memory cap, so they are not supported`);
  }
  over(problems, 'tables', resources.tables.length, limits.tables);
  let total = 0;
  const before = problems.length;
  resources.tables.forEach((table, index) => {
    const size = table.maximum ?? table.initial;
    if (table.initial > limits.tableEntries) {
      problems.push(`table ${index} declares ${n(table.initial)} entries; the limit is ${n(limits.tableEntries)} entries in all tables together`);
    } else if (size > limits.tableEntries) {
      problems.push(`table ${index} may grow to ${n(size)} entries; the limit is ${n(limits.tableEntries)} entries in all tables together: declare a lower maximum`);
    }
    total += size;
  });
  // A table over the limit on its own was named already; the sum matters only when none was.
  if (total > limits.tableEntries && problems.length === before) {
    problems.push(`tables together hold up to ${n(total)} entries; the limit is ${n(limits.tableEntries)}`);
  }
  over(problems, 'memories', resources.memories, limits.memories);
  over(problems, 'globals', resources.globals, limits.globals);
  over(problems, 'functions', resources.functions, limits.functions);
  over(problems, 'types', resources.types, limits.types);
  over(problems, 'imports', resources.imports, limits.imports);
  over(problems, 'exports', resources.exports, limits.exports);
  over(problems, 'exception tags', resources.tags, limits.tags);
  over(problems, 'element segments', resources.elementSegments, limits.elementSegments);
  over(problems, 'entries in element segments', resources.elements, limits.elements);
  over(problems, 'data segments', resources.dataSegments, limits.dataSegments);
  over(problems, 'bytes in data segments', resources.dataBytes, limits.dataBytes);
  over(problems, `locals in defined function ${resources.mostLocals.index}`, resources.mostLocals.count, limits.localsPerFunction);
  return problems;
}

/**
 * Checks a module's binary against the resource limits: one sentence naming every problem, or
 * `undefined` when it is within them. A binary that cannot be read is a problem too (what cannot
 * be counted cannot be bounded). Pure; never throws.
 */
export function checkResources(bytes: Uint8Array, limits: Readonly<ResourceLimits> = RESOURCE_LIMITS): string | undefined {
  let resources: ModuleResources;
  try {
    resources = readModuleResources(bytes);
  } catch (error) {
    return `cannot count the module's resources: ${error instanceof Error ? error.message : String(error)}`;
  }
  const problems = resourceProblems(resources, limits);
  return problems.length === 0 ? undefined : `module claims too much: ${problems.join('; ')}`;
}
