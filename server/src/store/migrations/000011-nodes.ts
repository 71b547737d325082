/**
 * 000011: coordinator nodes sharing one database.
 * - `nodes`: one row per running coordinator process (its id, public URL, and heartbeat), so a node
 *   knows which volunteers' sessions belong to a live peer and which to a dead one, and which
 *   origins are the cluster's own.
 * - `socket_io_attachments` (PostgreSQL only): the table `@socket.io/postgres-adapter` keeps
 *   payloads too large for a NOTIFY in (its documented shape).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../capabilities.ts';

export function nodesMigration(caps: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('nodes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('public_url', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
        .execute();
      if (caps.name === 'postgres') {
        await sql`CREATE TABLE IF NOT EXISTS socket_io_attachments (
          id bigserial UNIQUE,
          created_at timestamptz DEFAULT NOW(),
          payload bytea
        )`.execute(db);
      }
    },
  };
}
