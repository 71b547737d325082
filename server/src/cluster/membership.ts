/**
 * Pure decisions of a coordinator node among its peers: whose a session is, which nodes are alive,
 * which sessions a starting node may treat as orphans, and which origins belong to the cluster.
 *
 * In a cluster a session id is `<nodeId>.<socketId>`: the node that holds a volunteer's connection
 * is read off the lease's `session_id` without another column or another write per connection.
 */

/** A peer as its heartbeat row says. */
export interface NodeRow {
  id: string;
  publicUrl: string;
  startedAt: number;
  heartbeatAt: number;
}

/** A node whose heartbeat is older than this is dead (it beats every second). */
export const NODE_TIMEOUT_MS = 3_000;
/** How often a node beats and looks for dead peers. */
export const HEARTBEAT_INTERVAL_MS = 1_000;

const SEPARATOR = '.';

/** Node ids are made by the coordinator: letters, digits, `_` and `-` only (never the separator). */
export function validNodeId(id: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id);
}

/** The session id of a connection `socketId` held by node `nodeId`. */
export function sessionIdFor(nodeId: string, socketId: string): string {
  return `${nodeId}${SEPARATOR}${socketId}`;
}

/** The node that holds a session, or undefined for a session id from a single-node coordinator. */
export function nodeOfSession(sessionId: string): string | undefined {
  const at = sessionId.indexOf(SEPARATOR);
  return at > 0 ? sessionId.slice(0, at) : undefined;
}

/** Whether a heartbeat at `heartbeatAt` is still fresh at `now`. */
export function alive(heartbeatAt: number, now: number, timeoutMs = NODE_TIMEOUT_MS): boolean {
  return now - heartbeatAt <= timeoutMs;
}

/**
 * Of the sessions holding leases, those no live node holds: sessions of dead nodes, and sessions
 * of a single-node coordinator that ran on this database before.
 */
export function orphanSessions(sessions: readonly string[], liveNodeIds: ReadonlySet<string>): string[] {
  return sessions.filter((sessionId) => {
    const node = nodeOfSession(sessionId);
    return node === undefined || !liveNodeIds.has(node);
  });
}

/** The sessions of one node among those holding leases. */
export function sessionsOfNode(sessions: readonly string[], nodeId: string): string[] {
  return sessions.filter((sessionId) => nodeOfSession(sessionId) === nodeId);
}

/**
 * Sessions of cluster nodes that have no row any more: a dead node's, whose row a survivor deleted.
 * (A node writes its row before it takes connections and deletes it only after closing them, so a
 * live node's sessions always have one.) Sessions of a single-node coordinator are left to the
 * restart grace of `orphanSessions`.
 */
export function strandedSessions(sessions: readonly string[], nodeIds: ReadonlySet<string>): string[] {
  return sessions.filter((sessionId) => {
    const node = nodeOfSession(sessionId);
    return node !== undefined && !nodeIds.has(node);
  });
}

/**
 * The origins browsers may open a volunteer socket from: this node's own, and the public origins
 * of live peers (a frame served by one node moves to another when its node dies). A node row can
 * only be written by a holder of the database, so a foreign page's origin never gets in.
 */
export function clusterOrigins(ownPublicUrl: string, peers: readonly NodeRow[], now: number): Set<string> {
  const origins = new Set([new URL(ownPublicUrl).origin]);
  for (const peer of peers) {
    if (!alive(peer.heartbeatAt, now)) continue;
    try {
      origins.add(new URL(peer.publicUrl).origin);
    } catch {
      // A row with a URL that does not parse admits nothing.
    }
  }
  return origins;
}
