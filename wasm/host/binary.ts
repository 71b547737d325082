/**
 * A tiny reader (and rewriter) for the WebAssembly binary format: just enough to see a module's
 * memory and table declarations and to cap them. The JS API cannot tell their limits before
 * instantiation, and a memory or table that declares no maximum could otherwise grow to the
 * engine's own limit (4 GiB of memory, ten million table entries).
 */

import { KIND, LIMITS_HAS_MAX, Reader, SECTION, readHeader } from './reader.ts';

/** The limits of a module's first memory, as declared in its binary. */
export interface MemoryLimits {
  initialPages: number;
  maximumPages?: number;
  /** The memory comes from an import rather than the module's memory section. */
  imported: boolean;
  shared: boolean;
}

/** Bytes in one WebAssembly page. */
export const WASM_PAGE_BYTES = 65_536;


const LIMITS_SHARED = 0x02;
const LIMITS_64 = 0x04;

/** One memory's or table's limits and where they sit in the binary. */
interface LimitsSpan {
  start: number;
  end: number;
  flags: number;
  initial: number;
  maximum?: number;
  imported: boolean;
  /** The section holding the limits: [content start, content end). */
  section: { idStart: number; start: number; end: number };
}

/** Every memory and table declaration (imported ones first, as in the index spaces), with positions. */
interface Declarations {
  memories: LimitsSpan[];
  tables: LimitsSpan[];
}

function readImports(r: Reader, end: number, section: LimitsSpan['section'], out: Declarations): void {
  const count = r.uleb();
  for (let i = 0; i < count; i++) {
    r.name();
    r.name();
    const kind = r.byte();
    switch (kind) {
      case KIND.func:
        r.uleb();
        break;
      case KIND.table: {
        r.valueType();
        const start = r.pos;
        out.tables.push({ ...r.limits(), start, end: r.pos, imported: true, section });
        break;
      }
      case KIND.memory: {
        const start = r.pos;
        out.memories.push({ ...r.limits(), start, end: r.pos, imported: true, section });
        break;
      }
      case KIND.global:
        r.valueType();
        r.byte(); // mutability
        break;
      case KIND.tag:
        r.byte(); // attribute
        r.uleb();
        break;
      default:
        throw new Error(`unknown import kind ${kind} at byte ${r.pos - 1}`);
    }
  }
  if (r.pos !== end) throw new Error('import section size does not match its contents');
}

function readTables(r: Reader, end: number, section: LimitsSpan['section'], out: LimitsSpan[]): void {
  const count = r.uleb();
  for (let i = 0; i < count; i++) {
    // 0x40 0x00: a table with an initialiser expression (function-references proposal).
    const withInit = r.bytes[r.pos] === 0x40;
    if (withInit) r.skip(2);
    r.valueType();
    const start = r.pos;
    out.push({ ...r.limits(), start, end: r.pos, imported: false, section });
    if (withInit) r.constExpr();
  }
  if (r.pos !== end) throw new Error('table section size does not match its contents');
}

function findDeclarations(bytes: Uint8Array): Declarations {
  const r = new Reader(bytes);
  readHeader(r);
  const out: Declarations = { memories: [], tables: [] };
  while (r.pos < bytes.length) {
    const idStart = r.pos;
    const id = r.byte();
    const size = r.uleb();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) throw new Error(`section ${id} runs past the end of the binary`);
    const section = { idStart, start, end };
    if (id === SECTION.import) {
      readImports(r, end, section, out);
    } else if (id === SECTION.table) {
      readTables(r, end, section, out.tables);
    } else if (id === SECTION.memory) {
      const count = r.uleb();
      for (let i = 0; i < count; i++) {
        const limitsStart = r.pos;
        const limits = r.limits();
        out.memories.push({ ...limits, start: limitsStart, end: r.pos, imported: false, section });
      }
      if (r.pos !== end) throw new Error('memory section size does not match its contents');
    }
    r.pos = end;
  }
  return out;
}

/** Every memory declaration (imported ones first, as in the index space), with its position. */
function findMemories(bytes: Uint8Array): LimitsSpan[] {
  return findDeclarations(bytes).memories;
}

/**
 * Reads the limits of the module's first memory (imported or defined), or `undefined` when the
 * module has no memory. Throws when the bytes are not a well-formed WebAssembly binary.
 */
export function readMemoryLimits(bytes: Uint8Array): MemoryLimits | undefined {
  const first = findMemories(bytes)[0];
  if (!first) return undefined;
  const limits: MemoryLimits = {
    initialPages: first.initial,
    imported: first.imported,
    shared: (first.flags & LIMITS_SHARED) !== 0,
  };
  if (first.maximum !== undefined) limits.maximumPages = first.maximum;
  return limits;
}

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}

function encodeLimits(flags: number, initial: number, maximum: number): number[] {
  return [flags | LIMITS_HAS_MAX, ...uleb(initial), ...uleb(maximum)];
}

/**
 * Returns a copy of `bytes` in which every memory the module declares has a maximum of at most
 * `maxPages` (a maximum is added where none is declared). Throws an Error naming the numbers when
 * a memory's initial size already exceeds `maxPages`, or when the binary is malformed.
 */
export function capMemory(bytes: Uint8Array, maxPages: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(maxPages) || maxPages < 0) throw new Error(`invalid memory cap: ${maxPages} pages`);
  const memories = findMemories(bytes);
  const edits: { span: LimitsSpan; encoded: number[] }[] = [];
  for (const span of memories) {
    if (span.initial > maxPages) {
      throw new Error(
        `module memory starts at ${span.initial} pages (${formatBytes(span.initial * WASM_PAGE_BYTES)}), ` +
          `above the cap of ${maxPages} pages (${formatBytes(maxPages * WASM_PAGE_BYTES)})`,
      );
    }
    const maximum = Math.min(span.maximum ?? maxPages, maxPages);
    if (maximum === span.maximum) continue;
    // memory64 limits are u64 LEBs too; the same encoding fits both.
    edits.push({ span, encoded: encodeLimits(span.flags & (LIMITS_SHARED | LIMITS_64), span.initial, maximum) });
  }
  if (edits.length === 0) return bytes.slice();
  return applyEdits(bytes, edits);
}

/**
 * Returns a copy of `bytes` in which every table that declares no maximum gets its initial size
 * as its maximum, so `table.grow` fails (returns -1) instead of growing it without bound: the
 * resource limits count a table by its maximum, and one without a declared maximum by its
 * initial size. Tables that declare a maximum are left as they are. Throws on a malformed binary.
 */
export function capTables(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const edits = findDeclarations(bytes)
    .tables.filter((span) => span.maximum === undefined)
    .map((span) => ({ span, encoded: encodeLimits(span.flags & LIMITS_64, span.initial, span.initial) }));
  return edits.length === 0 ? bytes.slice() : applyEdits(bytes, edits);
}

/** Splices new limit encodings in and rewrites the size of every section that changed. */
function applyEdits(bytes: Uint8Array, edits: { span: LimitsSpan; encoded: number[] }[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  let pos = 0;
  const bySection = new Map<number, { span: LimitsSpan; encoded: number[] }[]>();
  for (const edit of edits) {
    const list = bySection.get(edit.span.section.idStart) ?? [];
    list.push(edit);
    bySection.set(edit.span.section.idStart, list);
  }
  for (const [idStart, list] of [...bySection].sort((a, b) => a[0] - b[0])) {
    const section = list[0]!.span.section;
    parts.push(bytes.subarray(pos, idStart + 1)); // everything up to and including the section id
    const content: Uint8Array[] = [];
    let cursor = section.start;
    for (const { span, encoded } of list.sort((a, b) => a.span.start - b.span.start)) {
      content.push(bytes.subarray(cursor, span.start), Uint8Array.from(encoded));
      cursor = span.end;
    }
    content.push(bytes.subarray(cursor, section.end));
    const size = content.reduce((n, c) => n + c.length, 0);
    parts.push(Uint8Array.from(uleb(size)), ...content);
    pos = section.end;
  }
  parts.push(bytes.subarray(pos));
  return concat(parts);
}

/** Joins byte chunks into one array. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** `1.5 MiB`, `64 KiB`: for messages that authors read. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(2)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(2)} KiB`;
  return `${n} B`;
}
