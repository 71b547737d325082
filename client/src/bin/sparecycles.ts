#!/usr/bin/env node
/**
 * The `sparecycles` command of the installed package, until the full CLI (client/src/cli) takes the
 * `bin` entry over: `sparecycles serve` starts the coordinator (server/src/main.ts, configured by
 * the environment as `npm start` is) and `sparecycles volunteer --url URL --site KEY [--workers N]`
 * the Node agent (client/src/agent/cli.ts). Each reads the rest of the command line as when run
 * directly.
 */

export {};

const USAGE = `usage: sparecycles serve              start a coordinator (PORT, HOST, DATA_DIR, … from the environment)
       sparecycles volunteer --url URL --site KEY [--workers N]   lend this machine's cores to a coordinator`;

const command = process.argv[2];
// The command's own entry reads process.argv.slice(2): it should not see its own name there.
if (command === 'serve' || command === 'volunteer') process.argv.splice(2, 1);
if (command === 'serve') await import('../../../server/src/main.ts');
else if (command === 'volunteer') await import('../agent/cli.ts');
else {
  console.error(USAGE);
  process.exitCode = command === undefined || command === '--help' || command === '-h' ? 0 : 2;
}
