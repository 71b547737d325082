/**
 * What the embed needs from the coordinator's origin: `GET /embed.js` (the loader, loaded
 * cross-origin by host pages), `GET /api.js` (the page API's code, imported by the loader), `GET /frame?site=KEY` (the frame page, with a per-site CSP and the
 * site's config inside it) and `/assets/*` (the frame's hashed bundles, cached for good).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CodedError } from '../../protocol/errors.ts';
import type { FrameConfig } from '../../protocol/http.ts';
import { frameCsp, NO_FRAME_CSP } from '../csp.ts';
import type { AppDeps } from '../deps.ts';
import { injectFrameConfig } from '../frame-config.ts';
import { SITE_KEY_PATTERN } from './sites.ts';

const SITE_KEY = new RegExp(SITE_KEY_PATTERN);

async function readClientFile(clientDir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(clientDir, name));
  } catch {
    throw new CodedError('not_found', `${name} is not built: run npm run build`);
  }
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function unknownSitePage(reply: FastifyReply, site: string | undefined): FastifyReply {
  const what = site ? `The site key <code>${escapeHtml(site)}</code> is not registered` : 'No site key was given';
  return reply
    .code(404)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', NO_FRAME_CSP)
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unknown site</title></head>` +
        `<body><h1>Unknown site</h1><p>${what} with this sparecycles coordinator. ` +
        `The site owner can register it with <code>POST /api/v1/sites</code>.</p></body></html>`,
    );
}

export async function staticRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { store, config } = deps;

  /** A script that host pages load from another origin: CORS, CORP, and a short cache. */
  const crossOriginScript = (name: string) => async (_request: unknown, reply: FastifyReply) => {
    const body = await readClientFile(config.clientDir, name);
    return reply
      .type('text/javascript; charset=utf-8')
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('access-control-allow-origin', '*')
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'public, max-age=300')
      .send(body);
  };

  app.get('/embed.js', crossOriginScript('embed.js'));
  // The host page's API code, imported by the loader on the page's first call (an ES module from
  // another origin: it needs CORS).
  app.get('/api.js', crossOriginScript('api.js'));

  app.get<{ Querystring: { site?: string } }>('/frame', async (request, reply) => {
    const site = typeof request.query.site === 'string' ? request.query.site : undefined;
    const record = site && SITE_KEY.test(site) ? await store.getSite(site) : undefined;
    if (!record) return unknownSitePage(reply, site);
    const page = await readClientFile(config.clientDir, 'frame.html');
    const frameConfig: FrameConfig = {
      siteKey: record.siteKey,
      siteName: record.name,
      operator: config.operatorName,
      settings: record.settings,
    };
    const body = injectFrameConfig(page.toString('utf8'), frameConfig);
    return reply
      .type('text/html; charset=utf-8')
      // From the configured public URL only: the request's Host header is the client's to choose.
      .header('content-security-policy', frameCsp({ ancestors: record.origins, publicUrl: config.publicUrl }))
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('x-content-type-options', 'nosniff')
      // The CSP and the config follow the site's registration: never serve a stale one.
      .header('cache-control', 'no-cache')
      .send(body);
  });

  await app.register(fastifyStatic, {
    root: join(config.clientDir, 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    list: false,
    immutable: true,
    maxAge: '365d',
    setHeaders: (res) => {
      res.setHeader('cross-origin-resource-policy', 'cross-origin');
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('x-content-type-options', 'nosniff');
    },
  });
}
