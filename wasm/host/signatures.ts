/**
 * Reads the types of a module's imported and exported functions from its binary. The JS API
 * cannot show them (type reflection is not shipped), and a function imported or exported with
 * the wrong type would not fail loudly: JS glue coerces arguments, so a `run` without a result
 * would quietly read its output at pointer 0.
 */
import { Reader, readHeader } from './reader.ts';

/** Function types by name (`module.name` for imports), written as `(i32, i32) -> i32`. */
export interface FunctionSignatures {
  imports: Map<string, string>;
  exports: Map<string, string>;
}

const SECTION_TYPE = 1;
const SECTION_IMPORT = 2;
const SECTION_FUNCTION = 3;
const SECTION_EXPORT = 7;

const VALUE_TYPES: Record<number, string> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
};

/** The binary uses a type encoding (e.g. from the GC proposal) that this reader does not follow. */
class Unsupported extends Error {}

function valueType(r: Reader): string {
  const code = r.byte();
  const name = VALUE_TYPES[code];
  if (name === undefined) throw new Unsupported(`value type 0x${code.toString(16)}`);
  return name;
}

function funcType(r: Reader): string {
  const form = r.byte();
  if (form !== 0x60) throw new Unsupported(`type form 0x${form.toString(16)}`);
  const params = Array.from({ length: r.uleb() }, () => valueType(r));
  const results = Array.from({ length: r.uleb() }, () => valueType(r));
  return formatSignature(params, results);
}

/** Formats the type of a function for messages: `(i32, i32) -> i32`. */
export function formatSignature(params: string[], results: string[]): string {
  const result = results.length === 0 ? '()' : results.length === 1 ? results[0]! : `(${results.join(', ')})`;
  return `(${params.join(', ')}) -> ${result}`;
}

/**
 * Reads every imported and exported function's type, or returns `undefined` when the binary uses
 * type encodings this reader does not know (callers then skip the signature checks). Throws on a
 * malformed binary.
 */
export function readFunctionSignatures(bytes: Uint8Array): FunctionSignatures | undefined {
  const r = new Reader(bytes);
  readHeader(r);
  const types: string[] = [];
  const functions: string[] = []; // the function index space: imports first
  const imports = new Map<string, string>();
  const exports = new Map<string, string>();
  const typeAt = (index: number): string => {
    const type = types[index];
    if (type === undefined) throw new Error(`function type index ${index} out of range`);
    return type;
  };
  try {
    while (r.pos < bytes.length) {
      const id = r.byte();
      const size = r.uleb();
      const end = r.pos + size;
      if (end > bytes.length) throw new Error(`section ${id} runs past the end of the binary`);
      if (id === SECTION_TYPE) {
        for (let n = r.uleb(); n > 0; n--) types.push(funcType(r));
      } else if (id === SECTION_IMPORT) {
        for (let n = r.uleb(); n > 0; n--) {
          const name = `${r.string()}.${r.string()}`;
          const kind = r.byte();
          if (kind === 0) {
            const type = typeAt(r.uleb());
            functions.push(type);
            imports.set(name, type);
          } else if (kind === 1) {
            valueType(r);
            r.limits();
          } else if (kind === 2) {
            r.limits();
          } else if (kind === 3) {
            valueType(r);
            r.byte();
          } else if (kind === 4) {
            r.byte();
            r.uleb();
          } else {
            throw new Unsupported(`import kind ${kind}`);
          }
        }
      } else if (id === SECTION_FUNCTION) {
        for (let n = r.uleb(); n > 0; n--) functions.push(typeAt(r.uleb()));
      } else if (id === SECTION_EXPORT) {
        for (let n = r.uleb(); n > 0; n--) {
          const name = r.string();
          const kind = r.byte();
          const index = r.uleb();
          if (kind === 0) {
            const type = functions[index];
            if (type === undefined) throw new Error(`exported function index ${index} out of range`);
            exports.set(name, type);
          }
        }
      }
      r.pos = end;
    }
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
  return { imports, exports };
}
