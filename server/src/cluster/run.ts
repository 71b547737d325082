/**
 * `npm run cluster -- --nodes 3 [--port 8080]`: a local cluster for trying things out — a
 * throwaway PostgreSQL and N coordinator nodes on consecutive ports, all stopped on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { newAdminKey } from '../ids.ts';
import { startThrowawayPostgres } from '../store/postgres-testing.ts';
import { startNodes, type NodeProcess } from './processes.ts';

const USAGE = 'Usage: npm run cluster -- [--nodes N (1-16, default 3)] [--port FIRST_PORT (default 8080)]';

function readArgs(argv: string[]): { nodes: number; port: number } {
  const { values } = parseArgs({ args: argv, strict: true, options: { nodes: { type: 'string', default: '3' }, port: { type: 'string', default: '8080' } } });
  const nodes = Number(values.nodes);
  const port = Number(values.port);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) throw new Error(`--nodes must be 1-16, got ${values.nodes}`);
  if (!Number.isInteger(port) || port < 1024 || port + nodes - 1 > 65535) throw new Error(`--port must leave room for ${nodes} ports, got ${values.port}`);
  return { nodes, port };
}

async function main(): Promise<void> {
  let args;
  try {
    args = readArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const adminKey = process.env['SPARECYCLES_ADMIN_KEY'] ?? newAdminKey();
  const postgres = await startThrowawayPostgres();
  let nodes: NodeProcess[] = [];
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('\n  stopping the cluster…');
    await Promise.all(nodes.map((node) => node.stop()));
    await postgres.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  try {
    nodes = await startNodes({ databaseUrl: postgres.url, nodes: args.nodes, basePort: args.port, adminKey, env: { LOG_LEVEL: 'warn' } });
  } catch (error) {
    console.error('sparecycles cluster: a node did not start', error);
    await postgres.stop();
    process.exit(1);
  }
  for (const node of nodes) node.child.once('exit', (code, signal) => !stopping && console.log(`  node ${node.url} exited (${code ?? signal})`));
  console.log(
    [
      '',
      `  sparecycles cluster: ${nodes.length} node${nodes.length === 1 ? '' : 's'} on one PostgreSQL`,
      ...nodes.map((node, i) => `  node ${i + 1}                   ${node.url}`),
      `  DATABASE_URL             ${postgres.url}`,
      `  admin key                ${adminKey}`,
      '  Ctrl-C stops every node and the database.',
      '',
    ].join('\n'),
  );
}

void main();
