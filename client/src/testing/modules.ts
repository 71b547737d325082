/** Hand-written bytes-ABI task modules for the client's tests. */
import { watToWasm } from '../../../wasm/testing/wat.ts';

/**
 * Input byte 0 picks the behaviour: 0xFF loops forever, 0xFE traps, anything else answers one
 * byte, the input byte plus one. Byte 1, when present, adds that many ×4M iterations of busy work.
 */
export const BEHAVING_WAT = `(module
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 64))
  (func (export "run") (param $ptr i32) (param $len i32) (result i32)
    (local $op i32) (local $spin i32)
    (local.set $op (i32.load8_u (local.get $ptr)))
    (if (i32.eq (local.get $op) (i32.const 255)) (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $op) (i32.const 254)) (then unreachable))
    (if (i32.gt_u (local.get $len) (i32.const 1))
      (then (local.set $spin (i32.mul (i32.load8_u (i32.add (local.get $ptr) (i32.const 1))) (i32.const 4000000)))))
    (block $done (loop $busy
      (br_if $done (i32.eqz (local.get $spin)))
      (local.set $spin (i32.sub (local.get $spin) (i32.const 1)))
      (br $busy)))
    (i32.store (i32.const 1024) (i32.const 1))
    (i32.store8 (i32.const 1028) (i32.add (local.get $op) (i32.const 1)))
    (i32.const 1024)))`;

/** The test module's bytes. */
export function behavingModule(): Promise<Uint8Array<ArrayBuffer>> {
  return watToWasm(BEHAVING_WAT);
}

export const LOOP = Uint8Array.of(0xff);
export const TRAP = Uint8Array.of(0xfe);
