/**
 * The `nodes` table (migration 000011) through a pg pool: a node's row, its heartbeat, and the
 * removal of dead peers' rows. Times come from the database's clock, so nodes on machines whose
 * clocks disagree still agree on who is late.
 */
import type { Pool } from 'pg';
import { NODE_TIMEOUT_MS, type NodeRow } from './membership.ts';

/** Milliseconds since the epoch on the database's clock. */
const DB_NOW = `floor(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export interface Membership {
  /** The database's clock when the rows were read. */
  now: number;
  nodes: NodeRow[];
}

export interface NodeRegistry {
  /** Writes this node's row (again, if a peer had taken it for dead) and returns every row. */
  beat(): Promise<Membership>;
  /**
   * Deletes the rows of peers silent for longer than `timeoutMs` and returns them. A conditional
   * delete: when several nodes notice the same death at once, exactly one gets the row back.
   */
  claimDead(timeoutMs?: number): Promise<NodeRow[]>;
  /** Deletes this node's row (a clean shutdown: its sessions are released by the node itself). */
  leave(): Promise<void>;
}

interface Row {
  id: string;
  public_url: string;
  started_at: string;
  heartbeat_at: string;
}

function toNode(row: Row): NodeRow {
  return { id: row.id, publicUrl: row.public_url, startedAt: Number(row.started_at), heartbeatAt: Number(row.heartbeat_at) };
}

export function createNodeRegistry(pool: Pool, self: { id: string; publicUrl: string }): NodeRegistry {
  return {
    async beat() {
      await pool.query(
        `INSERT INTO nodes (id, public_url, started_at, heartbeat_at) VALUES ($1, $2, ${DB_NOW}, ${DB_NOW})
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at, public_url = EXCLUDED.public_url`,
        [self.id, self.publicUrl],
      );
      const result = await pool.query<Row & { now: string }>(
        `SELECT id, public_url, started_at, heartbeat_at, ${DB_NOW} AS now FROM nodes ORDER BY started_at, id`,
      );
      const now = result.rows[0] ? Number(result.rows[0].now) : Date.now();
      return { now, nodes: result.rows.map(toNode) };
    },

    async claimDead(timeoutMs = NODE_TIMEOUT_MS) {
      const result = await pool.query<Row>(
        `DELETE FROM nodes WHERE id <> $1 AND heartbeat_at < ${DB_NOW} - $2 RETURNING id, public_url, started_at, heartbeat_at`,
        [self.id, timeoutMs],
      );
      return result.rows.map(toNode);
    },

    async leave() {
      await pool.query('DELETE FROM nodes WHERE id = $1', [self.id]);
    },
  };
}
