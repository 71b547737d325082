/**
 * Reads what a module claims from the engine when it is instantiated, beyond its linear memory:
 * tables and their sizes, element and data segments, globals, functions, types, imports,
 * exports, tags and the locals of each function. The JS API shows none of the sizes before
 * instantiation, and instantiation is where the damage is done (a 634-byte module declaring 64
 * tables of ten million entries takes 5 GB of heap), so they are read from the binary.
 */
import { KIND, Reader, SECTION, readHeader } from './reader.ts';

/** One table, in the table index space (imported tables first). */
export interface TableClaim {
  initial: number;
  /** Declared maximum; `undefined` when the table declares none. */
  maximum?: number;
}

/** What a module declares, counted from its binary. */
export interface ModuleResources {
  types: number;
  /** Types of the GC proposal (structs and arrays): their objects live outside linear memory. */
  gcTypes: number;
  imports: number;
  exports: number;
  /** Functions, imported and defined. */
  functions: number;
  tables: TableClaim[];
  /** Memories, imported and defined. */
  memories: number;
  /** Globals, imported and defined. */
  globals: number;
  tags: number;
  elementSegments: number;
  /** Entries in all element segments together. */
  elements: number;
  dataSegments: number;
  /** Bytes in all data segments together. */
  dataBytes: number;
  /** The function (index among defined functions) with the most locals, and how many. */
  mostLocals: { index: number; count: number };
}

// Composite type forms of the type section.
const FORM_FUNC = 0x60;
const FORM_STRUCT = 0x5f;
const FORM_ARRAY = 0x5e;
const FORM_REC = 0x4e;
const FORM_SUB = 0x50;
const FORM_SUB_FINAL = 0x4f;
// Packed storage types of struct fields and array elements.
const PACKED_I8 = 0x78;
const PACKED_I16 = 0x77;

function storageType(r: Reader): void {
  const code = r.bytes[r.pos];
  if (code === PACKED_I8 || code === PACKED_I16) r.skip(1);
  else r.valueType();
}

/** Reads one subtype; returns whether it is a struct or array (a GC type). */
function subType(r: Reader): boolean {
  let form = r.byte();
  if (form === FORM_SUB || form === FORM_SUB_FINAL) {
    for (let n = r.uleb(); n > 0; n--) r.uleb(); // supertypes
    form = r.byte();
  }
  switch (form) {
    case FORM_FUNC:
      for (let n = r.uleb(); n > 0; n--) r.valueType();
      for (let n = r.uleb(); n > 0; n--) r.valueType();
      return false;
    case FORM_STRUCT:
      for (let n = r.uleb(); n > 0; n--) {
        storageType(r);
        r.byte(); // mutability
      }
      return true;
    case FORM_ARRAY:
      storageType(r);
      r.byte();
      return true;
    default:
      throw new Error(`unknown type form 0x${form.toString(16)} at byte ${r.pos - 1}`);
  }
}

function readTypes(r: Reader, out: ModuleResources): void {
  for (let n = r.uleb(); n > 0; n--) {
    if (r.bytes[r.pos] === FORM_REC) {
      r.skip(1);
      for (let m = r.uleb(); m > 0; m--) {
        out.types++;
        if (subType(r)) out.gcTypes++;
      }
    } else {
      out.types++;
      if (subType(r)) out.gcTypes++;
    }
  }
}

function readImports(r: Reader, out: ModuleResources): void {
  for (let n = r.uleb(); n > 0; n--) {
    out.imports++;
    r.name();
    r.name();
    const kind = r.byte();
    switch (kind) {
      case KIND.func:
        r.uleb();
        out.functions++;
        break;
      case KIND.table: {
        r.valueType();
        const { initial, maximum } = r.limits();
        out.tables.push(maximum === undefined ? { initial } : { initial, maximum });
        break;
      }
      case KIND.memory:
        r.limits();
        out.memories++;
        break;
      case KIND.global:
        r.valueType();
        r.byte();
        out.globals++;
        break;
      case KIND.tag:
        r.byte();
        r.uleb();
        out.tags++;
        break;
      default:
        throw new Error(`unknown import kind ${kind} at byte ${r.pos - 1}`);
    }
  }
}

function readTables(r: Reader, out: ModuleResources): void {
  for (let n = r.uleb(); n > 0; n--) {
    const withInit = r.bytes[r.pos] === 0x40;
    if (withInit) r.skip(2);
    r.valueType();
    const { initial, maximum } = r.limits();
    out.tables.push(maximum === undefined ? { initial } : { initial, maximum });
    if (withInit) r.constExpr();
  }
}

/** Element segment encodings 0–7: which parts each has (see the spec's binary format). */
function readElements(r: Reader, out: ModuleResources): void {
  for (let n = r.uleb(); n > 0; n--) {
    out.elementSegments++;
    const flags = r.uleb();
    if (flags > 7) throw new Error(`unknown element segment flags ${flags} at byte ${r.pos}`);
    const passiveOrDeclarative = (flags & 1) !== 0;
    const explicitTable = (flags & 2) !== 0;
    const expressions = (flags & 4) !== 0;
    if (!passiveOrDeclarative && explicitTable) r.uleb(); // table index
    if (!passiveOrDeclarative) r.constExpr(); // offset
    if (passiveOrDeclarative || explicitTable) {
      if (expressions) r.valueType(); // reference type
      else r.byte(); // element kind
    }
    const count = r.uleb();
    out.elements += count;
    for (let i = 0; i < count; i++) {
      if (expressions) r.constExpr();
      else r.uleb();
    }
  }
}

function readCode(r: Reader, out: ModuleResources): void {
  const count = r.uleb();
  for (let index = 0; index < count; index++) {
    const size = r.uleb();
    const end = r.pos + size;
    let locals = 0;
    for (let groups = r.uleb(); groups > 0; groups--) {
      locals += r.uleb();
      r.valueType();
    }
    if (locals > out.mostLocals.count) out.mostLocals = { index, count: locals };
    if (end > r.bytes.length) throw new Error(`function body ${index} runs past the end of the binary`);
    r.pos = end;
  }
}

function readData(r: Reader, out: ModuleResources): void {
  for (let n = r.uleb(); n > 0; n--) {
    out.dataSegments++;
    const flags = r.uleb();
    if (flags === 2) r.uleb(); // memory index
    if (flags === 0 || flags === 2) r.constExpr();
    else if (flags !== 1) throw new Error(`unknown data segment flags ${flags} at byte ${r.pos}`);
    const size = r.uleb();
    out.dataBytes += size;
    r.skip(size);
  }
}

/**
 * Counts what a module declares. Throws a plain Error when the binary is malformed or uses an
 * encoding this reader does not know (then the module is refused: what cannot be counted
 * cannot be bounded).
 */
export function readModuleResources(bytes: Uint8Array): ModuleResources {
  const r = new Reader(bytes);
  readHeader(r);
  const out: ModuleResources = {
    types: 0, gcTypes: 0, imports: 0, exports: 0, functions: 0, tables: [], memories: 0, globals: 0, tags: 0,
    elementSegments: 0, elements: 0, dataSegments: 0, dataBytes: 0, mostLocals: { index: 0, count: 0 },
  };
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.uleb();
    const end = r.pos + size;
    if (end > bytes.length) throw new Error(`section ${id} runs past the end of the binary`);
    const content = new Reader(bytes.subarray(0, end), r.pos);
    switch (id) {
      case SECTION.type: readTypes(content, out); break;
      case SECTION.import: readImports(content, out); break;
      case SECTION.function: out.functions += content.uleb(); break;
      case SECTION.table: readTables(content, out); break;
      case SECTION.memory: out.memories += content.uleb(); break;
      case SECTION.global: out.globals += content.uleb(); break;
      case SECTION.export: out.exports += content.uleb(); break;
      case SECTION.tag: out.tags += content.uleb(); break;
      case SECTION.element: readElements(content, out); break;
      case SECTION.code: readCode(content, out); break;
      case SECTION.data: readData(content, out); break;
      default: break; // custom, start, data count: nothing to claim
    }
    r.pos = end;
  }
  return out;
}
