/**
 * The volunteer agent on the command line:
 *   npx tsx client/src/agent/cli.ts --url http://127.0.0.1:8080 --site SITE_KEY [--workers N]
 * (also `sparecycles volunteer`). Flags become config, handed to `runVolunteer`.
 * Exit codes: 0 after a signal, 1 when the coordinator refuses or cannot be reached, 2 on bad flags.
 */
import { ConfigError, readConfig, USAGE } from './config.ts';
import { runVolunteer } from './run.ts';

async function main(): Promise<number> {
  let config;
  try {
    config = readConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (error.message) console.error(`error: ${error.message}\n`);
    console.error(USAGE);
    return error.message ? 2 : 0;
  }
  return runVolunteer(config);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
