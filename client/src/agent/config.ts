/**
 * The agent CLI's configuration: flags and environment, read once, validated, frozen.
 * The only file of the agent that reads `process.env`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '../runtime/error-message.ts';

export interface AgentConfig {
  /** The first coordinator node (the only one, unless several were given). */
  url: string;
  /** Every node given (`--url a,b,c`): the agent moves to the next when its node dies. */
  urls: string[];
  siteKey: string;
  workers: number | undefined;
  execution: 'threads' | 'inline';
  /** Where the volunteer id is kept between runs. */
  idFile: string;
}

export const USAGE = `Usage: sparecycles-agent --url URL --site SITE_KEY [--workers N] [--inline] [--id-file PATH]

  --url       the coordinator, e.g. http://127.0.0.1:8080   (env SPARECYCLES_URL);
              several nodes of one cluster separated by commas
  --site      the site key to volunteer through               (env SPARECYCLES_SITE)
  --workers   parallel tasks (default: all cores but one)
  --inline    run tasks in the main thread (no isolation, and a task over ~20 s may miss the
              coordinator's heartbeat and lose its connection; for light benchmarks)
  --id-file   file keeping this volunteer's id (default ~/.config/sparecycles/volunteer-id)`;

/** A usage error: the CLI prints it with the usage and exits 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `argv` (without node and script) and `env` into a frozen config. */
export function readConfig(argv: string[], env: NodeJS.ProcessEnv): Readonly<AgentConfig> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        url: { type: 'string' },
        site: { type: 'string' },
        workers: { type: 'string' },
        inline: { type: 'boolean', default: false },
        'id-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new ConfigError(errorMessage(error));
  }
  if (values.help) throw new ConfigError('');
  return agentConfig(
    { url: values.url, siteKey: values.site, workers: values.workers, inline: values.inline, idFile: values['id-file'] },
    env,
  );
}

/** The agent's settings as given (flags, or `sparecycles volunteer`'s options), before checking. */
export interface AgentFlags {
  url?: string | undefined;
  siteKey?: string | undefined;
  workers?: string | undefined;
  inline?: boolean | undefined;
  idFile?: string | undefined;
}

/** Checks and defaults the agent's settings (env fills in the coordinator and site); frozen. */
export function agentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv): Readonly<AgentConfig> {
  const url = flags.url ?? env['SPARECYCLES_URL'];
  const siteKey = flags.siteKey ?? env['SPARECYCLES_SITE'];
  if (!url) throw new ConfigError('--url is required');
  if (!siteKey) throw new ConfigError('--site is required');
  const urls = url.split(',').map((each) => each.trim()).filter((each) => each !== '').map(nodeOrigin);
  if (urls.length === 0) throw new ConfigError('--url is required');

  let workers: number | undefined;
  if (flags.workers !== undefined) {
    workers = Number(flags.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new ConfigError('--workers must be an integer from 1 to 64');
  }

  const configHome = env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
  return Object.freeze({
    url: urls[0]!,
    urls,
    siteKey,
    workers,
    execution: flags.inline ? 'inline' : 'threads',
    idFile: flags.idFile ?? join(configHome, 'sparecycles', 'volunteer-id'),
  });
}

/** One node's origin, from a URL on it. */
function nodeOrigin(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`--url is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError('--url must be http(s)');
  return parsed.origin;
}
