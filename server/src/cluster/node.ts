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
  sessionsOfNode,
  validNodeId,
  type NodeRow,
} from './membership.ts';
import { createNodeRegistry, type Membership } from './registry.ts';

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
  /** A dead peer was found and its sessions released (for logs). */
  onPeerDead?(node: NodeRow, sessions: number): void;
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
  const timeoutMs = options.nodeTimeoutMs ?? NODE_TIMEOUT_MS;
  // The adapter holds one connection for LISTEN; heartbeats and broadcasts share the rest.
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 4, application_name: `sparecycles-node-${options.nodeId}` });
  pool.on('error', (error) => options.onError(error));
  const registry = createNodeRegistry(pool, { id: options.nodeId, publicUrl: options.publicUrl });
  let membership: Membership;
  try {
    membership = await registry.beat();
  } catch (error) {
    await pool.end();
    throw error;
  }
  const adapter = createAdapter(pool, { errorHandler: (error) => options.onError(error) });
  let timer: ReturnType<typeof setInterval> | undefined;
  let bus: ClusterBus | undefined;
  let beating: Promise<void> = Promise.resolve();

  const livePeers = (): NodeRow[] => membership.nodes.filter((n) => n.id !== options.nodeId && alive(n.heartbeatAt, membership.now, timeoutMs));

  async function beatOnce(handlers: ClusterNodeHandlers): Promise<void> {
    membership = await registry.beat();
    const dead = await registry.claimDead(timeoutMs);
    if (dead.length === 0) return;
    const sessions = await handlers.sessionsWithLeases();
    for (const node of dead) {
      // Volunteers that already reconnected elsewhere adopted their leases: those are not here.
      const theirs = sessionsOfNode(sessions, node.id);
      await handlers.releaseSessions(theirs);
      handlers.onPeerDead?.(node, theirs.length);
    }
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
      // The adapters beat and clean up on the pool: stopped before it closes.
      for (const nsp of io?._nsps.values() ?? []) await nsp.adapter.close();
      await registry.leave().catch(options.onError);
      await pool.end();
    },
  };
}
