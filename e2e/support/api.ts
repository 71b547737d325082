/** A tiny REST client for the coordinator under test, speaking only the public API. */
import { readFile } from 'node:fs/promises';
import { taskWasmPath, type TaskName } from '../../wasm/testing/task-modules.ts';
import { E2E } from './ports.ts';

export interface JobCounts {
  total: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}
export interface JobStatus {
  id: string;
  state: string;
  counts: JobCounts;
}
export interface ResultLine {
  index: number;
  state: string;
  output?: string;
  errors?: { attempt: number; kind: string; message: string; at: number }[];
}

/** A client for one coordinator, authenticated with the operator key. */
export function apiClient(base: string, key: string) {
  async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await fetch(`${base}/api/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) },
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path} → ${response.status}: ${text}`);
    return (path.endsWith('/results') ? text : JSON.parse(text)) as T;
  }

  const json = (body: unknown): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

  const uploadModule = async (bytes: Uint8Array): Promise<string> =>
    (await call<{ hash: string }>('/modules', {
      method: 'POST',
      headers: { 'content-type': 'application/wasm' },
      body: new Blob([new Uint8Array(bytes)]),
    })).hash;

  return {
    uploadModule,
    uploadBuiltModule: async (name: TaskName): Promise<string> =>
      uploadModule(new Uint8Array(await readFile(taskWasmPath(name)))),
    createSite: async (origins: string[], settings?: Record<string, unknown>): Promise<string> =>
      (await call<{ siteKey: string }>('/sites', json({ name: 'test site', origins, ...(settings ? { settings } : {}) }))).siteKey,
    updateSite: (siteKey: string, body: Record<string, unknown>): Promise<unknown> =>
      call(`/sites/${siteKey}`, { ...json(body), method: 'PATCH' }),
    createJob: async (body: NewJob): Promise<string> => {
      const { inputs, ...rest } = body;
      const encoded = inputs.map((input) => Buffer.from(input).toString('base64'));
      return (await call<{ id: string }>('/jobs', json({ ...rest, inputs: encoded }))).id;
    },
    jobStatus: (id: string): Promise<JobStatus> => call<JobStatus>(`/jobs/${id}`),
    jobResults: async (id: string): Promise<ResultLine[]> =>
      (await call<string>(`/jobs/${id}/results`))
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as ResultLine),
    cancelJob: (id: string): Promise<unknown> => call(`/jobs/${id}/cancel`, { method: 'POST' }),
  };
}

export interface NewJob {
  module: string;
  inputs: Uint8Array[];
  deadlineMs?: number;
  maxAttempts?: number;
  priority?: number;
  title?: string;
  purpose?: string;
}

/** The e2e coordinator's client, its verbs exported one by one for the specs. */
export const { uploadModule, uploadBuiltModule, createSite, updateSite, createJob, jobStatus, jobResults, cancelJob } = apiClient(
  E2E.coordinator,
  E2E.adminKey,
);

/** The host page on the registered origin (or another origin) embedding `siteKey`. */
export const hostPageUrl = (siteKey: string, origin: string = E2E.hostOrigin): string =>
  `${origin}/?site=${encodeURIComponent(siteKey)}`;
