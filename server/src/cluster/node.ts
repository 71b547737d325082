/**
 * This process as a node of a cluster on one PostgreSQL: its id, its heartbeat row, the Socket.IO
 * adapter that carries `revoke` and server-side events to the other nodes, and the watch for dead
 * peers whose leases a survivor releases. The decisions are `membership.ts`'s; this is the I/O.
 *
 *   start        ──▶ row written (before the node lists orphans or listens)
 *   every 1 s    ──▶ heartbeat; peers' origins refreshed; rows of peers silent for 3 s deleted
 *                    by exactly one survivor, which releases their sessions' leases (uncounted)
 *   close        ──▶ row deleted (its own sessions were released by disconnecting them)
 */
import { createAdapter } from '@socket.io/postgres-adapter';
import pg from 'pg';
import { createClusterBus, type ClusterBus, type ServerSideChannel } from './bus.ts';
import {
  HEARTBEAT_INTERVAL_MS,
  NODE_TIMEOUT_MS,
  alive,
  clusterOrigins,
  orphanSessions,
  sessionIdFor,
  strandedSessions,
  validNodeId,
  type NodeRow,
} from './membership.ts';
import { createNodeRegistry, type Membership } from './registry.ts';

/** How many beats between two looks for sessions of vanished nodes when no death was seen. */
const STRANDED_SCAN_BEATS = 5;

export interface ClusterNodeOptions {
  databaseUrl: string;
  nodeId: string;
  publicUrl: string;
  onError: (error: unknown) => void;
  /** Default 1 s and 3 s (tests may shorten them). */
  heartbeatIntervalMs?: number;
  nodeTimeoutMs?: number;
}

/** What the node does to the rest of this process when peers speak or die. */
export interface ClusterNodeHandlers {
  /** Every session id holding live leases (the store's `sessionsWithLeases`). */
  sessionsWithLeases(): Promise<string[]>;
  /** Releases these sessions' leases, uncounted (the scheduler's `releaseSessions`). */
  releaseSessions(sessionIds: string[]): Promise<void>;
  /** Another node saw work appear. */
  work(): void;
  /** Another node settled tasks of these jobs. */
  settled(jobIds: string[]): void;
  /** Dead peers were found (for logs). */
  onPeersDead?(nodes: NodeRow[]): void;
  /** Sessions of dead nodes were released (for logs). */
  onReleased?(sessions: number): void;
  /** This node's row had been deleted: a peer took it for dead (for logs). */
  onRevived?(): void;
}

export interface ClusterNode {
  readonly nodeId: string;
  /** The Socket.IO adapter (give it to the `/volunteer` server). */
  readonly adapter: ReturnType<typeof createAdapter>;
  /** The session id of a connection of this node. */
  sessionIdOf(socketId: string): string;
  /** Live peers' public origins (and this node's), for the volunteer socket's Origin check. */
  origins(): ReadonlySet<string>;
  /** Whether another node was alive at the last heartbeat. */
  hasLivePeers(): boolean;
  /** Of these sessions, those of no live node (for the scheduler's restart grace). */
  orphansAmong(sessionIds: string[]): Promise<string[]>;
  /** Starts the heartbeat, the watch for dead peers and the event bus on `channel`. */
  run(channel: ServerSideChannel, handlers: ClusterNodeHandlers): ClusterBus;
  /** Stops beating, closes the adapters of `io`'s namespaces, deletes this node's row, closes the pool. */
  close(io?: { _nsps: Map<string, { adapter: { close(): unknown } }> }): Promise<void>;
}

/**
 * Joins the cluster: opens a pool, writes this node's row once (so a node starting at the same
 * moment sees it), and returns the node. Call before the scheduler starts and before listening.
 */
export async function joinCluster(options: ClusterNodeOptions): Promise<ClusterNode> {
  if (!validNodeId(options.nodeId)) throw new Error(`node id ${options.nodeId} is not [A-Za-z0-9_-]{1,64}`);
  const intervalMs = options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
  let closing = false;
  // Broadcasts still in flight when the pool closes at shutdown fail: nothing to report then.
  const onError = (error: unknown): void => {
    if (!closing) options.onError(error);
  };
  const timeoutMs = options.nodeTimeoutMs ?? NODE_TIMEOUT_MS;
  // The adapter holds one connection for LISTEN and publishes on the others; the heartbeat has a
  // pool of its own, so a burst of broadcasts never makes a live node look dead.
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 4, application_name: `sparecycles-node-${options.nodeId}` });
  pool.on('error', onError);
  const beatPool = new pg.Pool({ connectionString: options.databaseUrl, max: 3, application_name: `sparecycles-beat-${options.nodeId}` });
  beatPool.on('error', onError);
  const registry = createNodeRegistry(beatPool, { id: options.nodeId, publicUrl: options.publicUrl });
  let membership: Membership;
  try {
    membership = await registry.beat();
  } catch (error) {
    await pool.end();
    await beatPool.end();
    throw error;
  }
  const adapter = createAdapter(pool, { errorHandler: onError });
  let timer: ReturnType<typeof setInterval> | undefined;
  let bus: ClusterBus | undefined;
  let beating: Promise<void> = Promise.resolve();

  const livePeers = (): NodeRow[] => membership.nodes.filter((n) => n.id !== options.nodeId && alive(n.heartbeatAt, membership.now, timeoutMs));

  /** Beats since the last look for stranded sessions. */
  let sinceScan = 0;
  let releasing: Promise<void> | undefined;

  async function beatOnce(handlers: ClusterNodeHandlers): Promise<void> {
    const beat = await registry.beat();
    membership = beat;
    if (beat.revived) handlers.onRevived?.();
    const dead = await registry.claimDead(timeoutMs);
    if (dead.length > 0) handlers.onPeersDead?.(dead);
    // Right after a death, and every few beats in case a node that was releasing died itself.
    // Not awaited: releasing many leases must not delay this node's own heartbeat.
    if (dead.length === 0 && ++sinceScan < STRANDED_SCAN_BEATS) return;
    if (releasing) return;
    sinceScan = 0;
    releasing = releaseStranded(handlers)
      .catch(options.onError)
      .finally(() => {
        releasing = undefined;
      });
  }

  async function releaseStranded(handlers: ClusterNodeHandlers): Promise<void> {
    const ran = await registry.exclusively(async () => {
      const rows = await registry.beat();
      membership = rows;
      // Volunteers that already reconnected elsewhere adopted their leases: those are not here.
      const stranded = strandedSessions(await handlers.sessionsWithLeases(), new Set(rows.nodes.map((n) => n.id)));
      if (stranded.length === 0) return;
      await handlers.releaseSessions(stranded);
      handlers.onReleased?.(stranded.length);
    });
    // Another node was looking (perhaps from before the death): look again at the next beat.
    if (!ran) sinceScan = STRANDED_SCAN_BEATS;
  }

  return {
    nodeId: options.nodeId,
    adapter,
    sessionIdOf: (socketId) => sessionIdFor(options.nodeId, socketId),
    origins: () => clusterOrigins(options.publicUrl, livePeers(), membership.now),
    hasLivePeers: () => livePeers().length > 0,
    async orphansAmong(sessionIds) {
      membership = await registry.beat();
      const live = new Set([options.nodeId, ...livePeers().map((n) => n.id)]);
      return orphanSessions(sessionIds, live);
    },
    run(channel, handlers) {
      bus = createClusterBus(channel, { work: handlers.work, settled: handlers.settled });
      timer = setInterval(() => {
        // One beat at a time: a slow database delays the next one instead of stacking them.
        beating = beating.then(() => beatOnce(handlers)).catch(options.onError);
      }, intervalMs);
      timer.unref?.();
      return bus;
    },
    async close(io) {
      if (timer) clearInterval(timer);
      timer = undefined;
      bus?.close();
      await beating;
      await releasing;
      // The adapters beat and clean up on the pool: stopped before it closes.
      for (const nsp of io?._nsps.values() ?? []) await nsp.adapter.close();
      await registry.leave().catch(options.onError);
      closing = true;
      await pool.end();
      await beatPool.end();
    },
  };
}
