/**
 * The coordinator's composition root, the only place I/O is wired: configuration → store (SQLite,
 * or PostgreSQL with DATABASE_URL) → scheduler → HTTP app and `/volunteer` socket → listen → demo → graceful shutdown on SIGINT/SIGTERM.
 * Started by `main.ts` (`npm start`) and by `sparecycles serve`, with the same environment.
 */
import { join } from 'node:path';
import { joinCluster, type ClusterBus, type ClusterNode } from './cluster/index.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { startDemo, type RunningDemo } from './demo/index.ts';
import { buildApp, moduleUrl } from './http/index.ts';
import { newAdminKey, newId, newKeyId, newKeySecret, newLeaseId, newSiteKey, randomToken } from './ids.ts';
import { createJobEvents } from './jobs/index.ts';
import { VOLUNTEER_NAMESPACE } from './protocol/events.ts';
import { createScheduler } from './scheduling/index.ts';
import { attachVolunteerSocket, type VolunteerSocket } from './socket/index.ts';
import { openPostgresStore, openSqliteStore, redactedUrl, type Store } from './store/index.ts';
import { withGroupCommit } from './scheduling/group-commit.ts';

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

function readConfig(defaults: Readonly<Record<string, string>>): Readonly<Config> {
  try {
    return loadConfig(newAdminKey, { ...defaults, ...process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`sparecycles: configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

/** The address this process reaches its own API on (a wildcard bind is reachable on loopback). */
function apiUrl(config: Config): string {
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '[::1]' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}`;
}

async function start(defaults: Readonly<Record<string, string>>): Promise<void> {
  const config = readConfig(defaults);
  const now = Date.now;
  // DATABASE_URL: PostgreSQL, which several coordinator nodes may share (its pool runs transactions
  // side by side); else one SQLite file, whose single writer gains from group commit: claims and
  // answers that queue while the store is busy share one transaction. (Group commit on PostgreSQL
  // doubled a node's rate of lone results but, one transaction at a time, made the replicated
  // cluster job 2.5 times slower: `docs/postgres.md`.)
  const store: Store = config.databaseUrl
    ? await openPostgresStore({ url: config.databaseUrl, poolSize: config.databasePoolSize })
    : withGroupCommit(await openSqliteStore({ file: join(config.dataDir, 'sparecycles.db') }));
  // On PostgreSQL this process is a node of a cluster: its row is written before anything below
  // decides what belongs to dead processes.
  const cluster: ClusterNode | undefined = config.databaseUrl
    ? await joinCluster({
        databaseUrl: config.databaseUrl,
        nodeId: `n${randomToken(6)}`,
        publicUrl: config.publicUrl,
        nodeTimeoutMs: config.nodeTimeoutMs,
        onError: (error) => console.error('sparecycles cluster:', error),
      })
    : undefined;
  // Streamed requests that died with the previous process leave inputs nobody can see: gone now.
  // Not while another node is alive: they may be its requests in flight.
  if (!cluster?.hasLivePeers()) await store.discardAbandonedInputs();

  let volunteers: VolunteerSocket | undefined;
  let clusterBus: ClusterBus | undefined;
  const jobEvents = createJobEvents();
  const scheduler = createScheduler({
    store,
    now,
    newId: () => newLeaseId(now()),
    limits: { maxMemoryBytes: config.limits.maxMemoryBytes, maxOutputBytes: config.limits.maxOutputBytes },
    moduleUrl,
    revoke: (sessionId: string, leaseIds: string[]) => volunteers?.revoke(sessionId, leaseIds),
    wake: (sessionIds: string[]) => volunteers?.wake(sessionIds),
    // Called only once the app below exists (the sweep starts after it is built).
    onError: (error: unknown) => app.log.error({ err: error }, 'scheduler'),
    onSettled: (jobId: string) => {
      jobEvents.notify(jobId);
      clusterBus?.settled(jobId);
    },
    ...(cluster ? { orphansAmong: cluster.orphansAmong, onWork: () => clusterBus?.workAppeared() } : {}),
  });

  let ready = false;
  const app = buildApp({
    store,
    scheduler,
    now,
    newId,
    newSiteKey,
    newApiKey: () => ({ id: newKeyId(), secret: newKeySecret() }),
    volunteersOnline: () => scheduler.sessionsOnline(),
    jobEvents,
    config,
    logger: { level: config.logLevel },
    logRequests: config.logLevel === 'debug' || config.logLevel === 'trace',
    isReady: () => ready,
  });
  volunteers = attachVolunteerSocket({
    server: app.server,
    scheduler,
    store,
    publicUrl: config.publicUrl,
    limits: config.limits,
    logger: app.log,
    ...(cluster ? { adapter: cluster.adapter, sessionIdOf: cluster.sessionIdOf, peerOrigins: cluster.origins } : {}),
  });
  clusterBus = cluster?.run(volunteers.io.of(VOLUNTEER_NAMESPACE), {
    sessionsWithLeases: () => store.sessionsWithLeases(),
    releaseSessions: (sessionIds) => scheduler.releaseSessions(sessionIds),
    work: () => scheduler.wakeIdle(),
    settled: (jobIds) => jobIds.forEach((jobId) => jobEvents.notify(jobId)),
    onPeersDead: (dead) => app.log.warn({ nodes: dead.map((n) => n.id) }, 'nodes stopped beating: taken for dead'),
    onReleased: (sessions) => app.log.warn({ sessions }, 'leases of dead nodes\' connections released'),
    onRevived: () => app.log.error('this node was taken for dead (its heartbeat was late): its leases were released'),
  });

  // Before listening: the leases of the previous process's connections are listed (and their
  // deadlines deferred) before any new connection can adopt or take one.
  scheduler.start();
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(
      code === 'EADDRINUSE'
        ? `sparecycles: ${config.host}:${config.port} is already in use; set PORT to another port`
        : `sparecycles: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`,
    );
    await scheduler.stop();
    await cluster?.close();
    await store.close();
    process.exit(1);
  }
  ready = true;

  let demo: RunningDemo | undefined;
  if (config.demo) {
    try {
      demo = await startDemo({
        apiUrl: apiUrl(config),
        publicUrl: config.publicUrl,
        adminKey: config.adminKey,
        host: config.host,
        port: config.demoPort,
        dataDir: config.dataDir,
        wasmDir: config.wasmDir,
        now,
        random: Math.random,
        onError: (error) => app.log.warn({ err: error }, 'demo backend'),
      });
    } catch (error) {
      app.log.error({ err: error }, 'the demo did not start (SPARECYCLES_DEMO=0 turns it off)');
    }
  }

  let stopping = false;
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    ready = false;
    app.log.info({ signal }, 'shutting down');
    setTimeout(() => {
      console.error(`sparecycles: shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    try {
      await demo?.close();
      await volunteers?.close();
      await scheduler.stop();
      await cluster?.close(volunteers?.io);
      await app.close();
      await store.close();
      process.exit(0);
    } catch (error) {
      console.error('sparecycles: shutdown failed', error);
      process.exit(1);
    }
  }
  // Installed before the banner: a supervisor (or a test) that signals as soon as it reads the
  // banner must find them in place.
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  const lines = [
    '',
    `  sparecycles coordinator  ${config.publicUrl}`,
    ...(cluster ? [`  cluster node             ${cluster.nodeId} (PostgreSQL)`] : []),
    `  REST API                 ${config.publicUrl}/api/v1`,
    ...(demo ? [`  demo page                ${demo.url}`] : []),
    `  data                     ${config.dataDir}`,
    ...(config.databaseUrl ? [`  database                 ${redactedUrl(config.databaseUrl)}`] : []),
    ...(config.adminKeyGenerated
      ? [`  admin key                ${config.adminKey}`, `                           (generated; kept in ${join(config.dataDir, 'admin-key')})`]
      : []),
    '',
  ];
  console.log(lines.join('\n'));
}

/**
 * Runs the coordinator configured by the environment (see config.ts) until SIGINT or SIGTERM; owns
 * the process: exits 2 on a configuration error, 1 when it cannot start, 0 after a clean shutdown.
 * `defaults` fill in variables the environment leaves unset (`sparecycles serve` turns the demo off).
 */
export function runCoordinator(defaults: Readonly<Record<string, string>> = {}): void {
  start(defaults).catch((error: unknown) => {
    console.error('sparecycles: failed to start', error);
    process.exit(1);
  });
}
