/**
 * The accounts part of the `Store` contract (keys, module ownership, owners of jobs and sites),
 * run per dialect like `store.contract.ts`. `open` must return a fresh, empty, migrated store.
 */
import { describe, expect, it } from 'vitest';
import { CodedError } from '../protocol/errors.ts';
import type { NewJob, Store } from './store.ts';
import { closedAfterEach, plainJob } from './contract-support.ts';

const MODULE = 'a'.repeat(64);
const module = { hash: MODULE, abi: 'bytes' as const, size: 2, bytes: Uint8Array.of(1, 2), createdAt: 10 };

function job(id: string, owner: string | undefined, inputs = 1): NewJob {
  return {
    ...plainJob(id, MODULE),
    inputs: Array.from({ length: inputs }, (_, i) => Uint8Array.of(i)),
    ...(owner === undefined ? {} : { owner }),
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof CodedError ? error.code : `not coded: ${String(error)}`;
  }
}

/** Registers the accounts contract tests under `name`. */
export function describeAccountsContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract (accounts): ${name}`, () => {
    const openStore = closedAfterEach(open);
    async function fresh(): Promise<Store> {
      const store = await openStore();
      return store;
    }

    it('keeps keys by the hash of their secret, lists them oldest first, and revokes once', async () => {
      const store = await fresh();
      const alice = await store.createKey({ id: 'k_alice', role: 'author', name: 'Alice', secretHash: '1'.repeat(64), createdAt: 5 });
      expect(alice).toEqual({ id: 'k_alice', role: 'author', name: 'Alice', createdAt: 5, revokedAt: null });
      await store.createKey({ id: 'k_blog', role: 'site', name: 'Blog', secretHash: '2'.repeat(64), createdAt: 6 });
      expect(await codeOf(store.createKey({ id: 'k_alice', role: 'site', name: 'x', secretHash: '3'.repeat(64), createdAt: 7 }))).toBe('conflict');
      expect(await codeOf(store.createKey({ id: 'k_other', role: 'site', name: 'x', secretHash: '1'.repeat(64), createdAt: 7 }))).toBe('conflict');

      expect(await store.findKeyByHash('1'.repeat(64))).toEqual(alice);
      expect(await store.findKeyByHash('f'.repeat(64))).toBeUndefined();
      expect((await store.listKeys()).map((k) => [k.id, k.role])).toEqual([['k_alice', 'author'], ['k_blog', 'site']]);

      expect(await store.revokeKey('k_alice', 50)).toEqual({ ...alice, revokedAt: 50 });
      expect(await store.revokeKey('k_alice', 60)).toEqual({ ...alice, revokedAt: 50 });
      expect(await store.findKeyByHash('1'.repeat(64))).toEqual({ ...alice, revokedAt: 50 });
      expect(await store.revokeKey('k_missing', 60)).toBeUndefined();
      for (const key of await store.listKeys()) expect(Object.keys(key).sort()).toEqual(['createdAt', 'id', 'name', 'revokedAt', 'role']);
    });

    it('gives each uploader of the same bytes their own upload; others do not see it', async () => {
      const store = await fresh();
      expect(await store.saveModule(module, 'k_alice')).toEqual({ created: true });
      expect(await store.saveModule(module, 'k_alice')).toEqual({ created: false });
      expect(await store.getModuleMeta(MODULE, 'k_bob')).toBeUndefined();
      expect(await store.saveModule({ ...module, createdAt: 20 }, 'k_bob')).toEqual({ created: true });
      expect(await store.getModuleMeta(MODULE, 'k_alice')).toEqual({ hash: MODULE, abi: 'bytes', size: 2, createdAt: 10 });
      expect(await store.getModuleMeta(MODULE, 'k_bob')).toEqual({ hash: MODULE, abi: 'bytes', size: 2, createdAt: 20 });
      expect(await store.getModuleMeta(MODULE, 'k_carol')).toBeUndefined();
      // Without an owner (the operator's view) the module is there, with its first upload's time.
      expect(await store.getModuleMeta(MODULE)).toMatchObject({ hash: MODULE, createdAt: 10 });
      expect(await store.saveModule(module)).toEqual({ created: true });
      expect(await store.getModuleMeta(MODULE, 'operator')).toBeDefined();
    });

    it('stamps jobs and sites with their owner (the operator when none is given) and counts active jobs per owner', async () => {
      const store = await fresh();
      await store.saveModule(module, 'k_alice');
      await store.createJob(job('j-alice-1', 'k_alice'));
      await store.createJob(job('j-alice-2', 'k_alice'));
      await store.createJob(job('j-alice-empty', 'k_alice', 0));
      await store.createJob(job('j-op', undefined));
      expect((await store.getJob('j-alice-1'))?.owner).toBe('k_alice');
      expect((await store.getJob('j-op'))?.owner).toBe('operator');
      expect(await store.countActiveJobs('k_alice')).toBe(2);
      await store.cancelJob('j-alice-1', 200);
      expect(await store.countActiveJobs('k_alice')).toBe(1);
      expect(await store.countActiveJobs('operator')).toBe(1);
      expect(await store.countActiveJobs('k_nobody')).toBe(0);

      const site = await store.createSite({ siteKey: 'sk_1', name: 'Blog', origins: ['https://a.example'], createdAt: 1, owner: 'k_blog' });
      expect(site.owner).toBe('k_blog');
      expect((await store.getSite('sk_1'))?.owner).toBe('k_blog');
      expect((await store.updateSite('sk_1', { name: 'Le blog' }))?.owner).toBe('k_blog');
      expect((await store.createSite({ siteKey: 'sk_2', name: 'Op', origins: ['https://b.example'], createdAt: 1 })).owner).toBe('operator');
    });
  });
}
