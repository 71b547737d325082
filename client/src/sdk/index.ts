/**
 * The sparecycles SDK (`import { Client } from 'sparecycles/sdk'`): a typed client of a
 * coordinator's REST API over `fetch`, for Node 20 and browsers.
 */
export { Client } from './client.ts';
export type { ClientOptions, CreateJobOptions } from './client.ts';
export { Job, jobEnded } from './job.ts';
export { SpareCyclesError } from './errors.ts';
export { DEFAULT_BATCH } from './ndjson.ts';
export type { BatchLimits, JobInput, JobInputs } from './ndjson.ts';
export type * from './types.ts';
