/**
 * The demo's backend speaks to the coordinator only through its public REST API with the operator
 * key, as a real site owner's or task author's backend would.
 */
import type { JobStatus, ModuleInfo, ResultLine, SiteInfo } from '../protocol/http.ts';

export interface CoordinatorClient {
  getSite(key: string): Promise<SiteInfo | undefined>;
  createSite(name: string, origins: string[]): Promise<SiteInfo>;
  updateSite(key: string, body: { settings: Partial<SiteInfo['settings']> }): Promise<SiteInfo>;
  uploadModule(bytes: Uint8Array): Promise<ModuleInfo>;
  createJob(body: { module: string; inputs: Uint8Array[]; title: string }): Promise<JobStatus>;
  getJob(id: string): Promise<JobStatus | undefined>;
  results(id: string): Promise<ResultLine[]>;
  cancel(id: string): Promise<void>;
}

/** A REST client for `apiUrl` (the coordinator's origin) authenticated with `adminKey`. */
export function coordinatorClient(apiUrl: string, adminKey: string): CoordinatorClient {
  async function call(method: string, path: string, body?: { json: unknown } | { wasm: Uint8Array }): Promise<Response | undefined> {
    const headers: Record<string, string> = { authorization: `Bearer ${adminKey}` };
    let payload: BodyInit | undefined;
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body) {
      headers['content-type'] = 'application/wasm';
      payload = new Uint8Array(body.wasm);
    }
    const response = await fetch(`${apiUrl}/api/v1${path}`, { method, headers, ...(payload ? { body: payload } : {}) });
    if (response.status === 404 && method === 'GET') return undefined;
    if (!response.ok) {
      const text = await response.text();
      throw new Error(`${method} ${path} → ${response.status}: ${text.slice(0, 500)}`);
    }
    return response;
  }
  return {
    async getSite(key) {
      return (await (await call('GET', `/sites/${encodeURIComponent(key)}`))?.json()) as SiteInfo | undefined;
    },
    async createSite(name, origins) {
      return (await (await call('POST', '/sites', { json: { name, origins } }))!.json()) as SiteInfo;
    },
    async updateSite(key, body) {
      return (await (await call('PATCH', `/sites/${encodeURIComponent(key)}`, { json: body }))!.json()) as SiteInfo;
    },
    async uploadModule(bytes) {
      return (await (await call('POST', '/modules', { wasm: bytes }))!.json()) as ModuleInfo;
    },
    async createJob({ module, inputs, title }) {
      const json = { module, title, inputs: inputs.map((input) => Buffer.from(input).toString('base64')) };
      return (await (await call('POST', '/jobs', { json }))!.json()) as JobStatus;
    },
    async getJob(id) {
      return (await (await call('GET', `/jobs/${encodeURIComponent(id)}`))?.json()) as JobStatus | undefined;
    },
    async results(id) {
      const response = await call('GET', `/jobs/${encodeURIComponent(id)}/results`);
      if (!response) return [];
      const text = await response.text();
      return text
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as ResultLine);
    },
    async cancel(id) {
      await call('POST', `/jobs/${encodeURIComponent(id)}/cancel`);
    },
  };
}
