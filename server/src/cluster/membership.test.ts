/** The pure decisions of a node among its peers: session ownership, orphans, stranded sessions, origins. */
import { describe, expect, it } from 'vitest';
import {
  NODE_TIMEOUT_MS,
  alive,
  clusterOrigins,
  nodeOfSession,
  orphanSessions,
  sessionIdFor,
  sessionsOfNode,
  strandedSessions,
  validNodeId,
  type NodeRow,
} from './membership.ts';

const row = (id: string, publicUrl: string, heartbeatAt: number): NodeRow => ({ id, publicUrl, startedAt: 0, heartbeatAt });

describe('cluster membership', () => {
  it('reads the node back from a session id, and none from a single-node session id', () => {
    expect(nodeOfSession(sessionIdFor('nA1', 'Xy-_z'))).toBe('nA1');
    expect(nodeOfSession('Xy-_zSocketId')).toBeUndefined();
    expect(validNodeId('nA_b-9')).toBe(true);
    expect(validNodeId('n.a')).toBe(false);
    expect(validNodeId('')).toBe(false);
  });

  it('counts a heartbeat alive up to the timeout', () => {
    expect(alive(1000, 1000 + NODE_TIMEOUT_MS)).toBe(true);
    expect(alive(1000, 1001 + NODE_TIMEOUT_MS)).toBe(false);
  });

  it('treats as orphans only sessions no live node holds', () => {
    const sessions = ['a.1', 'b.2', 'c.3', 'legacy'];
    expect(orphanSessions(sessions, new Set(['a', 'b']))).toEqual(['c.3', 'legacy']);
    expect(sessionsOfNode(sessions, 'b')).toEqual(['b.2']);
  });

  it('finds sessions of nodes without a row, leaving single-node sessions to the restart grace', () => {
    expect(strandedSessions(['a.1', 'b.2', 'legacy'], new Set(['a']))).toEqual(['b.2']);
    expect(strandedSessions(['a.1'], new Set(['a']))).toEqual([]);
  });

  it("admits this node's origin and live peers' origins, not dead peers' nor malformed ones", () => {
    const now = 100_000;
    const origins = clusterOrigins('http://127.0.0.1:8080', [
      row('b', 'https://b.grid.example:8443', now - 500),
      row('c', 'https://c.grid.example', now - NODE_TIMEOUT_MS - 1),
      row('d', 'not a url', now),
    ], now);
    expect([...origins].sort()).toEqual(['http://127.0.0.1:8080', 'https://b.grid.example:8443']);
  });
});
