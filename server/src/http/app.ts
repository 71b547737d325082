/**
 * The coordinator's HTTP app: REST API under `/api/v1` (bearer auth, except health and the API's
 * own description; each route group admits the roles it serves: modules and jobs task authors,
 * sites site owners, keys and volunteers the operator alone, and the operator everything), the docs
 * page, the embed's static files and module downloads. Returned without listening, so tests use
 * `inject` and `main.ts` decides where it listens. Every route is registered inside a plugin, after
 * the OpenAPI plugin, so the document (and any `onRoute` hook a caller adds before `ready()`) sees
 * them all.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import { API_PREFIX } from '../protocol/http.ts';
import { createFailedAuthLimiter } from '../accounts/failed-auth.ts';
import { authenticate, decoratePrincipal, requireRole } from './auth.ts';
import type { AppDeps } from './deps.ts';
import { installErrorHandlers, sendHttpError } from './errors.ts';
import { registerOpenApi } from './openapi.ts';
import { downloadRoutes } from './routes/downloads.ts';
import { gridRoutes } from './routes/grid.ts';
import { healthRoutes } from './routes/health.ts';
import { keyRoutes } from './routes/keys.ts';
import { jobRoutes } from './routes/jobs.ts';
import { moduleRoutes } from './routes/modules.ts';
import { runRoutes } from './routes/run.ts';
import { siteRoutes } from './routes/sites.ts';
import { staticRoutes } from './routes/static.ts';
import { volunteerRoutes } from './routes/volunteers.ts';
import { typeboxValidatorCompiler } from './validation.ts';
import { installWellFormedInput } from './well-formed.ts';
import { PACKAGE_VERSION } from '../package-info.ts';

export type { AppDeps } from './deps.ts';

/** The longest path parameter the router accepts. */
const MAX_PARAM_LENGTH = 200;

/** Builds the fastify app over the injected store, scheduler and config. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    // Fastify's request serializer logs no headers; the redaction keeps it so should that change.
    logger: deps.logger ? { ...(deps.logger === true ? {} : deps.logger), redact: ['req.headers.authorization', 'headers.authorization'] } : false,
    logController: new LogController({ disableRequestLogging: !deps.logRequests }),
    // Job ids and site keys are short; a long URL is a mistake or an attack.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals (a bad URL, a parameter too long) get the one error body too.
    frameworkErrors: (error, request, reply) => {
      void sendHttpError(error, request, reply as FastifyReply, { maxParamLength: MAX_PARAM_LENGTH });
    },
    // Volunteer sockets hold connections open; do not let them delay shutdown forever.
    forceCloseConnections: 'idle',
  });
  app.setValidatorCompiler(typeboxValidatorCompiler);
  installErrorHandlers(app);
  installWellFormedInput(app);
  decoratePrincipal(app);
  registerOpenApi(app, { publicUrl: deps.config.publicUrl, version: PACKAGE_VERSION });

  app.register(async (root) => healthRoutes(root, deps));
  const { limits } = deps.config;
  const failures = createFailedAuthLimiter({ burst: limits.authFailureBurst, perMinute: limits.authFailuresPerMinute });
  app.register(
    async (api) => {
      api.addHook('onRequest', authenticate({ adminKey: deps.config.adminKey, store: deps.store, failures, now: deps.now }));
      gridRoutes(api, deps);
      api.register(async (authors) => {
        authors.addHook('onRequest', requireRole('author', 'operator'));
        moduleRoutes(authors, deps);
        jobRoutes(authors, deps);
      });
      api.register(async (sites) => {
        sites.addHook('onRequest', requireRole('site', 'operator'));
        siteRoutes(sites, deps);
      });
      api.register(async (operator) => {
        operator.addHook('onRequest', requireRole('operator'));
        keyRoutes(operator, deps);
        volunteerRoutes(operator, deps);
      });
    },
    { prefix: API_PREFIX },
  );
  // The host page's run() fallback: called by the frame, without an operator key (see run.ts).
  app.register(async (run) => runRoutes(run, deps), { prefix: API_PREFIX });
  app.register(async (root) => downloadRoutes(root, deps));
  app.register(async (files) => staticRoutes(files, deps));
  return app;
}
