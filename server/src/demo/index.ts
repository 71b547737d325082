/**
 * The demo: a Mandelbrot job on the coordinator and a host page on a second origin (DEMO_PORT)
 * that embeds the coordinator with the one-line snippet and paints the tiles as they complete;
 * and a second page (`/zoom`) that renders the views its visitor zooms into through the page's
 * own `run()`, marking where each tile ran.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coordinatorClient } from './api-client.ts';
import { createDemoController } from './controller.ts';
import { demoRequestHandler } from './server.ts';

export interface DemoOptions {
  /** Where the coordinator's REST API is reachable from this process (e.g. http://127.0.0.1:8080). */
  apiUrl: string;
  /** The coordinator's public origin, for the page's snippet. */
  publicUrl: string;
  adminKey: string;
  host: string;
  port: number;
  dataDir: string;
  wasmDir: string;
  now: () => number;
  random: () => number;
  onError: (error: unknown) => void;
}

export interface RunningDemo {
  /** The demo page, as the operator should open it. */
  url: string;
  siteKey: string;
  close(): Promise<void>;
}

/** Ensures the demo site, module and job, and serves the demo page on `port`. */
export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  let moduleBytes: Uint8Array;
  const modulePath = join(options.wasmDir, 'mandelbrot.wasm');
  try {
    moduleBytes = new Uint8Array(await readFile(modulePath));
  } catch {
    throw new Error(`demo: ${modulePath} is missing; run npm run build:wasm (npm start does)`);
  }
  const pageScript = await readFile(fileURLToPath(new URL('./public/demo.js', import.meta.url)), 'utf8');
  const zoomScript = await readFile(fileURLToPath(new URL('./public/zoom.js', import.meta.url)), 'utf8');

  // Listen first: the site's origins need the actual port (tests use port 0).
  let handle = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' }).end('starting');
  };
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  const port = (server.address() as AddressInfo).port;
  const loopback = ['127.0.0.1', 'localhost', '0.0.0.0', '::', '::1'].includes(options.host);
  const pageHost = loopback ? 'localhost' : options.host.includes(':') ? `[${options.host}]` : options.host;
  const origins = [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
  if (!loopback) origins.push(`http://${pageHost}:${port}`);
  try {
    const controller = await createDemoController({
      client: coordinatorClient(options.apiUrl, options.adminKey),
      stateFile: join(options.dataDir, 'demo.json'),
      moduleBytes,
      origins,
      now: options.now,
      random: options.random,
    });
    handle = demoRequestHandler({ controller, coordinatorUrl: options.publicUrl, pageScript, zoomScript, onError: options.onError });
    return { url: `http://${pageHost}:${port}/`, siteKey: controller.siteKey, close };
  } catch (error) {
    await close();
    throw error;
  }
}
