/**
 * Modules that attack the volunteer's machine rather than compute, for the tests that show they
 * are stopped: written in WAT, compiled through wabt.
 */
import { watToWasm } from './wat.ts';

/**
 * The table bomb: 64 tables of ten million `externref`, about 400 bytes of binary. Instantiated,
 * it asks V8 for 5 GB of heap: Node dies at its heap limit, Chromium's renderer crashes. It is a
 * well-formed bytes-ABI module otherwise, so only the resource limits stop it.
 */
export const TABLE_BOMB_WAT = `(module
  ${Array.from({ length: 64 }, () => '(table 10000000 externref)').join('\n  ')}
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) i32.const 16)
  (func (export "run") (param i32 i32) (result i32) i32.const 0))`;

/** The table bomb's binary. */
export function tableBomb(): Promise<Uint8Array<ArrayBuffer>> {
  return watToWasm(TABLE_BOMB_WAT);
}
