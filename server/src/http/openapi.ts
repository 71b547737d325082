/**
 * The REST API described: an OpenAPI 3.1 document that @fastify/swagger builds from the schemas the
 * routes validate with, served without a key at `GET /api/v1/openapi.json`, and a readable page at
 * `/docs` (swagger-ui, its scripts and styles served by this coordinator: nothing from elsewhere).
 *
 * Routes describe themselves in their `schema` (`summary`, `description`, `tags`, `response`,
 * `security: []` when they need no key). Added here to every `/api/v1` route's description: a tag
 * from its path when it names none (`/api/v1/jobs/:id` → `jobs`), the one error body for 4XX and
 * 5XX, and the bodies declared with `rawBody(...)`. Everything else the coordinator serves (embed
 * scripts, the frame, module downloads, the docs page itself) is left out of the document.
 *
 * Response schemas document; they do not rewrite replies: the serializer stays `JSON.stringify`
 * (what fastify uses for a route without one), so a reply keeps every field the handler sends.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { ERROR_STATUS } from '../protocol/errors.ts';
import { API_PREFIX } from '../protocol/http.ts';

/** Bodies of content types the validator never sees (raw bytes, streamed lines), for the docs. */
export type RawBodies = Readonly<Record<string, { description: string; schema?: TSchema }>>;

declare module 'fastify' {
  interface FastifySchema {
    /** Described in the API document only; see `rawBody`. */
    rawBody?: RawBodies;
  }
}

/** Where the document is served. */
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;
/** Where the readable page is served. */
export const DOCS_PATH = '/docs';
/** The security scheme of the API's keys (`Authorization: Bearer <key>`). */
export const BEARER = 'bearerAuth';

/**
 * The docs page's CSP: everything from this origin, nothing inline but styles (swagger-ui sets
 * some), and never inside another page's frame.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Schema fields declaring bodies the route takes in a form the validator does not check (e.g.
 * `application/wasm` bytes, an `application/x-ndjson` stream), for the API document only; with
 * `json`, also the JSON body the route validates, keyed by its content type (a plain `body` schema
 * would be applied to the other content types' bodies too):
 *
 *   schema: { ...rawBody({ 'application/x-ndjson': { description: '…' } }, CreateJobBody), params: … }
 */
export function rawBody(bodies: RawBodies, json?: TSchema): { rawBody: RawBodies; body?: { content: Record<string, { schema: TSchema }> } } {
  return json ? { rawBody: bodies, body: { content: { 'application/json': { schema: json } } } } : { rawBody: bodies };
}

/** A byte string, as OpenAPI names one. */
const Bytes = (description: string): TSchema => Type.String({ format: 'binary', description });

/** The one error body of every refusal (`{ error: { code, message } }`). */
export const ErrorReply = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(Object.keys(ERROR_STATUS).map((code) => Type.Literal(code))),
      message: Type.String({ description: 'what went wrong, and what to do next' }),
    }),
  },
  { description: 'The request was refused; `code` says why (see the message)' },
);

/** An `/api/v1` route's tag when it names none: the path's first segment after the prefix. */
export function tagOf(url: string): string {
  return url.slice(API_PREFIX.length + 1).split('/')[0] ?? '';
}

const isApi = (url: string): boolean => url.startsWith(`${API_PREFIX}/`);

/** The schema the document shows for an `/api/v1` route (the route's own schema is not changed). */
export function documentedSchema(url: string, schema: FastifySchema | undefined): FastifySchema {
  const { rawBody: raw, ...shown }: FastifySchema = { ...schema };
  if (!shown.tags || shown.tags.length === 0) shown.tags = [tagOf(url)];
  if (raw) {
    // The validated body, by content type (as fastify takes it, or a plain schema meaning JSON).
    const given = shown.body as { content?: Record<string, { schema: TSchema }> } | TSchema | undefined;
    const content: Record<string, { schema: TSchema }> = !given
      ? {}
      : 'content' in given && given.content
        ? { ...given.content }
        : { 'application/json': { schema: given as TSchema } };
    for (const [type, { description, schema: shape }] of Object.entries(raw)) {
      content[type] = { schema: shape ? { ...shape, description } : Bytes(description) };
    }
    shown.body = { content };
  }
  const response = { ...(shown.response as Record<string, unknown> | undefined) };
  if (!Object.keys(response).some((code) => /^[23]/.test(code))) response['2XX'] = { description: 'Success' };
  response['4XX'] ??= ErrorReply;
  response['5XX'] ??= ErrorReply;
  shown.response = response;
  return shown;
}

export interface OpenApiOptions {
  /** The coordinator's public origin, the document's server. */
  publicUrl: string;
  version: string;
}

/**
 * Registers the document and the page on `app`. Call before any route is registered: the document
 * lists the routes added after it.
 */
export function registerOpenApi(app: FastifyInstance, { publicUrl, version }: OpenApiOptions): void {
  // Replies are what the handlers send; the response schemas are there for the document.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'sparecycles coordinator',
        version,
        description:
          'The REST API of a sparecycles coordinator. Send the operator key, or a key the operator made ' +
          '(`sparecycles key create`), as `Authorization: Bearer <key>`. Errors are `{ error: { code, message } }`.',
      },
      servers: [{ url: publicUrl }],
      components: { securitySchemes: { [BEARER]: { type: 'http', scheme: 'bearer' } } },
      security: [{ [BEARER]: [] }],
    },
    transform: ({ schema, url }) =>
      isApi(url) ? { schema: documentedSchema(url, schema), url } : { schema: { ...schema, hide: true }, url },
  });
  app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PATH,
    staticCSP: DOCS_CSP,
    theme: { title: 'sparecycles API' },
    uiConfig: { deepLinking: true, validatorUrl: null },
  });
  app.register(async (root) => {
    root.get(
      OPENAPI_PATH,
      {
        schema: {
          tags: ['service'],
          summary: 'This document',
          description: 'The OpenAPI 3.1 description of every `/api/v1` route. No key needed.',
          security: [],
          response: { 200: Type.Object({}, { additionalProperties: true, description: 'An OpenAPI 3.1 document' }) },
        },
      },
      async () => app.swagger(),
    );
  });
}
