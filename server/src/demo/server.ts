/**
 * The demo host page's own web server, on its own port (a second origin): the page, its script,
 * and the backend endpoints the page polls. A tiny node:http server, as a site owner might run.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DemoController } from './controller.ts';
import { demoPage, demoPageCsp, zoomPage } from './page.ts';

export interface DemoServerDeps {
  controller: DemoController;
  /** The coordinator's public origin, for the snippet and the page's CSP. */
  coordinatorUrl: string;
  pageScript: string;
  /** The zoom page's script (public/zoom.js). */
  zoomScript: string;
  onError: (error: unknown) => void;
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));

/** The demo site's request handler, for a node:http server. */
export function demoRequestHandler(deps: DemoServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { controller } = deps;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo.invalid');
    // HEAD is a GET without the body (node:http drops the body itself).
    const route = `${req.method === 'HEAD' ? 'GET' : req.method} ${url.pathname}`;
    const fail = (error: unknown): void => {
      deps.onError(error);
      if (!res.headersSent) json(res, 502, { error: { code: 'internal', message: 'the coordinator did not answer' } });
    };
    switch (route) {
      case 'GET /':
      case 'GET /index.html':
        send(res, 200, 'text/html; charset=utf-8', demoPage(deps.coordinatorUrl, controller.siteKey), {
          'content-security-policy': demoPageCsp(deps.coordinatorUrl),
        });
        return;
      case 'GET /zoom':
        send(res, 200, 'text/html; charset=utf-8', zoomPage(deps.coordinatorUrl, controller.siteKey, controller.moduleHash), {
          'content-security-policy': demoPageCsp(deps.coordinatorUrl),
        });
        return;
      case 'GET /zoom.js':
        send(res, 200, 'text/javascript; charset=utf-8', deps.zoomScript);
        return;
      case 'GET /demo.js':
        send(res, 200, 'text/javascript; charset=utf-8', deps.pageScript);
        return;
      case 'GET /favicon.ico':
        res.writeHead(204).end();
        return;
      case 'GET /health':
        send(res, 200, 'text/plain; charset=utf-8', 'ok');
        return;
      case 'GET /api/progress': {
        const after = Number(url.searchParams.get('after') ?? '0');
        controller
          .progress(url.searchParams.get('job') ?? undefined, Number.isFinite(after) ? after : 0)
          .then((progress) => json(res, 200, progress), fail);
        return;
      }
      case 'POST /api/new-job':
        // A cross-site form cannot send this content type without a CORS preflight we never allow.
        if (!req.headers['content-type']?.startsWith('application/json')) {
          json(res, 415, { error: { code: 'unsupported_media_type', message: 'send Content-Type: application/json' } });
          return;
        }
        req.resume();
        controller.newJob().then((jobId) => json(res, 200, { jobId }), fail);
        return;
      default:
        json(res, 404, { error: { code: 'not_found', message: `no route ${route}` } });
    }
  };
}
