/**
 * The volunteer agent as a foreground program: connects, prints a line per finished task, and
 * stops gracefully on SIGINT/SIGTERM. Shared by `client/src/agent/cli.ts` and `sparecycles volunteer`.
 */
import type { AgentConfig } from './config.ts';
import { loadVolunteerIdFile } from './volunteer-id.ts';
import { startNodeVolunteer } from './volunteer.ts';
import { errorMessage } from '../runtime/error-message.ts';

const FORCED_EXIT_MS = 5_000;

/** Volunteers until a signal; resolves 0 after one, 1 when the coordinator refuses or is unreachable. */
export async function runVolunteer(config: Readonly<AgentConfig>): Promise<number> {
  const volunteerId = await loadVolunteerIdFile(config.idFile);
  let last = '';
  const volunteer = await startNodeVolunteer({
    url: config.urls,
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
  console.log(`volunteering to ${config.urls.join(', ')} as ${volunteerId} (site ${config.siteKey}); Ctrl-C stops`);

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
