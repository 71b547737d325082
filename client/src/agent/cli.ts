/**
 * The volunteer agent on the command line:
 *   npx tsx client/src/agent/cli.ts --url http://127.0.0.1:8080 --site SITE_KEY [--workers N]
 * Flags become config, handed to `startNodeVolunteer`; the CLI holds no logic of its own.
 * Exit codes: 0 after a signal, 1 when the coordinator refuses or cannot be reached, 2 on bad flags.
 */
import { ConfigError, readConfig, USAGE } from './config.ts';
import { loadVolunteerIdFile } from './volunteer-id.ts';
import { startNodeVolunteer } from './volunteer.ts';
import { errorMessage } from '../runtime/error-message.ts';

const FORCED_EXIT_MS = 5_000;

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

  const volunteerId = await loadVolunteerIdFile(config.idFile);
  let last = '';
  const volunteer = await startNodeVolunteer({
    url: config.url,
    siteKey: config.siteKey,
    volunteerId,
    execution: config.execution,
    connectTimeoutMs: 30_000,
    ...(config.workers === undefined ? {} : { workers: config.workers }),
    onStats(stats) {
      // One line per finished, revoked or dropped task at most, not per internal state change.
      const key = `${stats.completed}/${stats.failed}/${stats.dropped}/${stats.revoked}/${stats.expired}`;
      if (key !== last) {
        console.log(
          `${new Date().toISOString()} completed ${stats.completed}, failed ${stats.failed}, revoked ${stats.revoked}, ` +
            `expired ${stats.expired}, not wanted ${stats.dropped}, running ${stats.running}`,
        );
      }
      last = key;
    },
    onError: (error) => console.warn(`warning: ${errorMessage(error)}`),
  }).catch((error: unknown) => {
    console.error(`error: ${errorMessage(error)}`);
    return undefined;
  });
  if (!volunteer) return 1;
  console.log(`volunteering to ${config.url} as ${volunteerId} (site ${config.siteKey}); Ctrl-C stops`);

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      console.log(`${signal}: stopping`);
      setTimeout(() => process.exit(1), FORCED_EXIT_MS).unref();
      void volunteer.stop().then(resolve);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
