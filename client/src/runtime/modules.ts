/**
 * Task modules for leases: compiled once per content hash (and memory cap), looked up in memory,
 * then in a byte cache (IndexedDB in browsers), then fetched from the coordinator. Bytes from any
 * source are checked against the lease's SHA-256 before they are compiled or cached.
 */
import type { Lease } from '../../../server/src/protocol/events.ts';
import { sha256Hex } from './sha256.ts';
import { errorMessage } from './error-message.ts';

/** Module bytes by content hash. */
export interface ByteCache {
  get(hash: string): Promise<Uint8Array | undefined>;
  put(hash: string, bytes: Uint8Array): Promise<void>;
  keys(): Promise<string[]>;
}

/** Why a module could not be had: always reported to the coordinator as kind `invalid`. */
export class ModuleError extends Error {
  readonly kind = 'invalid' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ModuleError';
  }
}

/** What names a module to fetch and compile: a lease, or the page's own `run()` of an allowed module. */
export interface ModuleRef {
  module: Lease['module'];
  limits: Pick<Lease['limits'], 'maxMemoryBytes'>;
}

/** What the volunteer loop needs from modules. */
export interface ModuleSource {
  /** The compiled module for a lease (or another reference); rejects with `ModuleError`. */
  get(lease: ModuleRef): Promise<WebAssembly.Module>;
  /** Hashes held locally, as a locality hint for the coordinator. */
  cached(): string[];
}

export interface ModuleSourceOptions {
  /** Fetches a module's bytes by the lease's URL (a path on the coordinator). */
  fetchBytes(url: string): Promise<Uint8Array>;
  /** The host's `compileTask`. */
  compile(bytes: Uint8Array, maxMemoryBytes: number): Promise<WebAssembly.Module>;
  cache?: ByteCache | undefined;
  /** Called when the cache fails; the module is still used, just not cached. */
  onCacheError?(error: unknown): void;
}

/** Largest number of hashes sent as a hint (the protocol's limit). */
const MAX_HINTS = 256;

/** A module source; `cached()` knows the byte cache's keys once `ready` has settled. */
export function createModuleSource(options: ModuleSourceOptions): ModuleSource & { ready: Promise<void> } {
  const { fetchBytes, compile, cache } = options;
  const onCacheError = options.onCacheError ?? (() => {});
  const compiled = new Map<string, Promise<WebAssembly.Module>>();
  const held = new Set<string>();

  const ready = (cache?.keys() ?? Promise.resolve([])).then(
    (keys) => keys.forEach((key) => held.add(key)),
    onCacheError,
  );

  const cachedBytes = async (hash: string): Promise<Uint8Array | undefined> => {
    if (!cache) return undefined;
    try {
      const bytes = await cache.get(hash);
      if (bytes && (await sha256Hex(bytes)) === hash) return bytes;
    } catch (error) {
      onCacheError(error);
    }
    return undefined;
  };

  const load = async (lease: ModuleRef): Promise<WebAssembly.Module> => {
    const { hash, url } = lease.module;
    let bytes = await cachedBytes(hash);
    if (!bytes) {
      try {
        bytes = await fetchBytes(url);
      } catch (error) {
        throw new ModuleError(`cannot fetch module ${hash}: ${errorMessage(error)}`);
      }
      const actual = await sha256Hex(bytes);
      if (actual !== hash) throw new ModuleError(`module bytes hash to ${actual}, not the expected ${hash}`);
      if (cache) await cache.put(hash, bytes).catch(onCacheError);
    }
    held.add(hash);
    try {
      return await compile(bytes, lease.limits.maxMemoryBytes);
    } catch (error) {
      throw new ModuleError(`module ${hash} does not compile: ${errorMessage(error)}`);
    }
  };

  return {
    ready,
    get(lease) {
      const key = `${lease.module.hash}:${lease.limits.maxMemoryBytes}`;
      let module = compiled.get(key);
      if (!module) {
        module = load(lease);
        compiled.set(key, module);
        // A failure is not remembered: the next lease for this module tries again.
        module.catch(() => compiled.delete(key));
      }
      return module;
    },
    cached: () => [...held].slice(-MAX_HINTS),
  };
}

/**
 * `fetchBytes` over HTTP: resolves `url` against `base`, refuses other origins (modules come
 * only from the coordinator) and anything but a 2xx answer.
 */
export function httpBytes(base: string, fetchImpl: typeof fetch = fetch): (url: string) => Promise<Uint8Array> {
  const origin = new URL(base).origin;
  return async (url) => {
    const target = new URL(url, base);
    if (target.origin !== origin) throw new Error(`refusing a module from ${target.origin}, not the coordinator`);
    const response = await fetchImpl(target);
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
    return new Uint8Array(await response.arrayBuffer());
  };
}
