/** A tiny REST client for the coordinator under test, speaking only the public API. */
import { readFile } from 'node:fs/promises';
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

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${E2E.coordinator}/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${E2E.adminKey}`, ...(init.headers ?? {}) },
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

export async function uploadModule(bytes: Uint8Array): Promise<string> {
  const reply = await call<{ hash: string }>('/modules', {
    method: 'POST',
    headers: { 'content-type': 'application/wasm' },
    body: bytes,
  });
  return reply.hash;
}

export async function uploadBuiltModule(name: 'primes' | 'mandelbrot'): Promise<string> {
  return uploadModule(new Uint8Array(await readFile(`dist/wasm/${name}.wasm`)));
}

export async function createSite(origins: string[]): Promise<string> {
  const reply = await call<{ siteKey: string }>('/sites', json({ name: 'e2e site', origins }));
  return reply.siteKey;
}

export async function createJob(body: {
  module: string;
  inputs: Uint8Array[];
  deadlineMs?: number;
  maxAttempts?: number;
  priority?: number;
  title?: string;
}): Promise<string> {
  const { inputs, ...rest } = body;
  const reply = await call<{ id: string }>(
    '/jobs',
    json({ ...rest, inputs: inputs.map((input) => Buffer.from(input).toString('base64')) }),
  );
  return reply.id;
}

export const jobStatus = (id: string): Promise<JobStatus> => call<JobStatus>(`/jobs/${id}`);

export async function jobResults(id: string): Promise<ResultLine[]> {
  const text = await call<string>(`/jobs/${id}/results`);
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as ResultLine);
}

export const cancelJob = (id: string): Promise<unknown> => call(`/jobs/${id}/cancel`, { method: 'POST' });

/** The host page on the registered origin (or another origin) embedding `siteKey`. */
export const hostPageUrl = (siteKey: string, origin: string = E2E.hostOrigin): string =>
  `${origin}/?site=${encodeURIComponent(siteKey)}`;
