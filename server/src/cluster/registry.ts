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
  /**
   * Writes this node's row and returns every row; `revived` when the row had been deleted (a peer
   * took this node for dead and released its sessions' leases).
   */
  beat(): Promise<Membership & { revived: boolean }>;
  /**
   * Deletes the rows of peers silent for longer than `timeoutMs` and returns them. A conditional
   * delete: when several nodes notice the same death at once, exactly one gets the row back.
   */
  claimDead(timeoutMs?: number): Promise<NodeRow[]>;
  /**
   * Runs `work` if no other node is running it at the same time (a PostgreSQL advisory lock);
   * false when another node holds the lock.
   */
  exclusively(work: () => Promise<void>): Promise<boolean>;
  /** Deletes this node's row (a clean shutdown: its sessions are released by the node itself). */
  leave(): Promise<void>;
}

/** The advisory lock key of the release of dead nodes' sessions (any constant unique to it). */
const REAP_LOCK = 0x5c_0de5;

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
  let beats = 0;
  return {
    async beat() {
      // xmax = 0 on the returned row: it was inserted, not updated.
      const written = await pool.query<{ inserted: boolean }>(
        `INSERT INTO nodes (id, public_url, started_at, heartbeat_at) VALUES ($1, $2, ${DB_NOW}, ${DB_NOW})
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at, public_url = EXCLUDED.public_url
         RETURNING (xmax = 0) AS inserted`,
        [self.id, self.publicUrl],
      );
      const revived = (beats++ > 0 && written.rows[0]?.inserted) === true;
      const result = await pool.query<Row & { now: string }>(
        `SELECT id, public_url, started_at, heartbeat_at, ${DB_NOW} AS now FROM nodes ORDER BY started_at, id`,
      );
      const now = result.rows[0] ? Number(result.rows[0].now) : Date.now();
      return { now, nodes: result.rows.map(toNode), revived };
    },

    async exclusively(work) {
      const client = await pool.connect();
      try {
        const locked = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [REAP_LOCK]);
        if (!locked.rows[0]?.ok) return false;
        try {
          await work();
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [REAP_LOCK]);
        }
        return true;
      } finally {
        client.release();
      }
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
