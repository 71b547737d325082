/**
 * Upload validation of task modules: size, WebAssembly validity, the resource limits (tables,
 * segments, globals…; decided by the shared wasm host, which the runtime applies again), ABI shape
 * (exports and the import allow-list, also the host's) and memory against the operator's cap. A module that
 * passes is content-addressed by the SHA-256 of its bytes.
 */
import { CodedError } from '../protocol/errors.ts';
import type { ModuleInfo } from '../protocol/http.ts';
import { checkResources, classifyModule, readMemoryLimits, WASM_PAGE_BYTES as WASM_PAGE } from '../../../wasm/host/index.ts';
import { sha256Hex } from '../store/bytes.ts';

export interface ModuleLimits {
  maxModuleBytes: number;
  maxMemoryBytes: number;
}

/** Lowercase hex SHA-256 of `bytes`: a module's content address. */
export const moduleHash: (bytes: Uint8Array) => string = sha256Hex;

const mib = (bytes: number): string => `${Math.round((bytes / (1024 * 1024)) * 100) / 100} MiB`;

/**
 * Checks an uploaded module and returns its `{ hash, abi, size }`.
 * Throws `invalid_module` (400) naming the problem, or `payload_too_large` (413) past the size limit.
 */
export async function validateModule(bytes: Uint8Array, limits: ModuleLimits): Promise<ModuleInfo> {
  if (bytes.byteLength === 0) {
    throw new CodedError('invalid_module', 'empty body: send the module bytes with Content-Type: application/wasm');
  }
  if (bytes.byteLength > limits.maxModuleBytes) {
    throw new CodedError(
      'payload_too_large',
      `module is ${bytes.byteLength} bytes; the limit is ${limits.maxModuleBytes} bytes (${mib(limits.maxModuleBytes)})`,
    );
  }
  if (!WebAssembly.validate(bytes as BufferSource)) {
    throw new CodedError('invalid_module', 'not a valid WebAssembly binary');
  }
  // The same check the runtime makes before instantiating: tables, segments, globals and the like
  // are claimed at instantiation, outside the memory cap.
  const claims = checkResources(bytes);
  if (claims) throw new CodedError('invalid_module', claims);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as BufferSource);
  } catch (error) {
    throw new CodedError('invalid_module', `not a valid WebAssembly binary: ${(error as Error).message}`);
  }
  // With the bytes, the ABI functions' types are checked too (a `run` returning nothing is refused).
  const shape = classifyModule(module, bytes);
  if ('problem' in shape) throw new CodedError('invalid_module', shape.problem);

  const memory = readMemoryLimits(bytes);
  if (memory) {
    const cap = limits.maxMemoryBytes;
    if (memory.shared) {
      throw new CodedError('invalid_module', 'shared memory is not supported: tasks run single-threaded');
    }
    if (memory.initialPages * WASM_PAGE > cap) {
      throw new CodedError(
        'invalid_module',
        `initial memory of ${memory.initialPages} pages (${mib(memory.initialPages * WASM_PAGE)}) is above this coordinator's cap of ${cap / WASM_PAGE} pages (${mib(cap)})`,
      );
    }
    if (memory.maximumPages !== undefined && memory.maximumPages * WASM_PAGE > cap) {
      throw new CodedError(
        'invalid_module',
        `declared memory maximum of ${memory.maximumPages} pages (${mib(memory.maximumPages * WASM_PAGE)}) is above this coordinator's cap of ${cap / WASM_PAGE} pages (${mib(cap)}); declare a lower maximum or none`,
      );
    }
  }
  return { hash: moduleHash(bytes), abi: shape.abi, size: bytes.byteLength };
}
