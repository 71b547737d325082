/**
 * Sites: `POST /sites` registers a site's origins (and settings) and returns its key and embed
 * snippet; `GET /sites/:key` reads it back with every setting; `PATCH /sites/:key` changes the
 * given fields (settings field by field). A site owner's key sees and changes only its own sites
 * (another's answers 404 like a missing one); the operator's, every site.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CodedError } from '../../protocol/errors.ts';
import { CreateSiteBody, SiteInfo, UpdateSiteBody } from '../../protocol/http.ts';
import type { SiteRecord } from '../../store/index.ts';
import type { AppDeps } from '../deps.ts';
import { siteOwnedBy } from '../ownership.ts';
import { requireJson } from './content-type.ts';

/** Shape of a site key in URLs (what `newSiteKey` makes, with room for other generators). */
export const SITE_KEY_PATTERN = '^[A-Za-z0-9_-]{1,128}$';

const KeyParams = Type.Object({ key: Type.String({ pattern: SITE_KEY_PATTERN }) }, { additionalProperties: false });

/** The one line a site owner pastes into their pages. */
export function embedSnippet(publicUrl: string, siteKey: string): string {
  return `<script src="${publicUrl}/embed.js" data-site="${siteKey}" async></script>`;
}

/** Canonical origins (lowercase host, default port dropped), deduplicated; a bad one is a 400. */
export function normaliseOrigins(origins: readonly string[]): string[] {
  const seen = new Set<string>();
  origins.forEach((origin, index) => {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new CodedError('bad_request', `origins/${index}: "${origin}" is not an origin`);
    }
    if (parsed.username || parsed.password) {
      throw new CodedError('bad_request', `origins/${index}: an origin carries no credentials`);
    }
    seen.add(parsed.origin);
  });
  return [...seen];
}

export function siteInfo(site: SiteRecord, publicUrl: string): SiteInfo {
  return { ...site, embed: embedSnippet(publicUrl, site.siteKey) };
}

export function siteRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store, now, newSiteKey, config } = deps;

  api.post<{ Body: CreateSiteBody }>(
    '/sites',
    {
      schema: {
        summary: 'Register a site',
        description: 'Its origins may embed the frame; the reply carries the site key and the snippet to paste into its pages.',
        body: CreateSiteBody,
        response: { 201: SiteInfo },
      },
      preValidation: requireJson,
    },
    async (request, reply) => {
      const site = await store.createSite({
        siteKey: newSiteKey(),
        name: request.body.name,
        origins: normaliseOrigins(request.body.origins),
        createdAt: now(),
        settings: request.body.settings,
        owner: request.principal.owner,
      });
      return reply.code(201).header('location', `${request.url}/${site.siteKey}`).send(siteInfo(site, config.publicUrl));
    },
  );

  const readSchema = { summary: 'A site, with every setting', params: KeyParams, response: { 200: SiteInfo } };
  api.get<{ Params: { key: string } }>('/sites/:key', { schema: readSchema }, async (request) => {
    return siteInfo(await siteOwnedBy(store, request.params.key, request.principal), config.publicUrl);
  });

  api.patch<{ Params: { key: string }; Body: UpdateSiteBody }>(
    '/sites/:key',
    {
      schema: {
        summary: "Change a site's name, origins or settings",
        description: 'A given field replaces that field; within `settings`, field by field.',
        params: KeyParams,
        body: UpdateSiteBody,
        response: { 200: SiteInfo },
      },
      preValidation: requireJson,
    },
    async (request) => {
      const { name, origins, settings } = request.body;
      // A site's owner never changes, so checking before the change holds.
      await siteOwnedBy(store, request.params.key, request.principal);
      const site = await store.updateSite(request.params.key, {
        name,
        origins: origins && normaliseOrigins(origins),
        settings,
      });
      if (!site) throw new CodedError('site_not_found', `no site ${request.params.key}`);
      return siteInfo(site, config.publicUrl);
    },
  );
}
