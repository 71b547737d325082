/**
 * Who may see what, for the routes: another owner's record answers exactly as a missing one
 * (404 with the same code and message), so a caller learns nothing of records that are not theirs.
 * The operator sees everything (`canSee`).
 */
import { canSee, ownerFilter, type Principal } from '../accounts/principal.ts';
import { CodedError } from '../protocol/errors.ts';
import type { JobStatus } from '../protocol/http.ts';
import type { ModuleMeta, SiteRecord, Store } from '../store/index.ts';

/** The job, when `principal` may see it; else 404 `job_not_found`. */
export async function jobOwnedBy(store: Store, id: string, principal: Principal): Promise<JobStatus> {
  const job = await store.getJob(id);
  if (!job || !canSee(principal, job.owner)) throw new CodedError('job_not_found', `no job ${id}`);
  return job;
}

/** The site, when `principal` may see it; else 404 `site_not_found`. */
export async function siteOwnedBy(store: Store, siteKey: string, principal: Principal): Promise<SiteRecord> {
  const site = await store.getSite(siteKey);
  if (!site || !canSee(principal, site.owner)) throw new CodedError('site_not_found', `no site ${siteKey}`);
  return site;
}

/** The module as `principal` uploaded it (any upload, for the operator); else 404 `module_not_found`. */
export async function moduleOwnedBy(store: Store, hash: string, principal: Principal): Promise<ModuleMeta> {
  const meta = await store.getModuleMeta(hash, ownerFilter(principal));
  if (!meta) throw new CodedError('module_not_found', `no module ${hash}: upload it first (POST /api/v1/modules)`);
  return meta;
}

/**
 * Before `principal` creates a job of `moduleHash`: the module must be one they uploaded (404
 * `module_not_found`) and they must have fewer than `maxActiveJobs` active jobs (400).
 * Concurrent requests of one owner may pass the count together: the limit bounds what one owner
 * holds up to the requests in flight, not to the job.
 */
export async function admitJob(store: Store, principal: Principal, moduleHash: string, maxActiveJobs: number): Promise<void> {
  await moduleOwnedBy(store, moduleHash, principal);
  const active = await store.countActiveJobs(principal.owner);
  if (active >= maxActiveJobs) {
    throw new CodedError(
      'bad_request',
      `too many active jobs: ${active} of at most ${maxActiveJobs} (SPARECYCLES_MAX_ACTIVE_JOBS); wait for some to finish or cancel them`,
    );
  }
}
