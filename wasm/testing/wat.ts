/**
 * WebAssembly text → binary for tests, through the `wabt` package: hand-written modules that
 * trap, loop, import what they must not, or lie about their output.
 */
import wabtInit from 'wabt';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;

let wabt: Promise<Wabt> | undefined;

const FEATURES = {
  bulk_memory: true,
  multi_value: true,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: true,
  reference_types: true,
  exceptions: true,
  memory64: true,
  multi_memory: true,
  tail_call: true,
};

/**
 * Compiles WAT source to a wasm binary. Post-MVP features that engines ship (bulk memory,
 * multi-value, SIMD, threads, …) are accepted. Throws with wabt's message on a syntax or
 * validation error.
 */
export async function watToWasm(source: string): Promise<Uint8Array<ArrayBuffer>> {
  wabt ??= wabtInit();
  const module = (await wabt).parseWat('task.wat', source, FEATURES);
  try {
    module.resolveNames();
    // wabt's validate takes the feature set too, though its typings do not say so.
    (module.validate as (features: typeof FEATURES) => void)(FEATURES);
    const { buffer } = module.toBinary({ write_debug_names: true });
    return Uint8Array.from(buffer);
  } finally {
    module.destroy();
  }
}
