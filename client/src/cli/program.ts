/**
 * The `sparecycles` command tree (commander). Flags become options handed to the SDK, the job
 * runners, the coordinator's start and the volunteer agent; no command holds logic of its own.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { agentConfig, ConfigError as AgentConfigError } from '../agent/config.ts';
import { Client, type JobOptions, type JobStatus } from '../sdk/index.ts';
import { configFilePath, coordinatorUrl, readConfigFile, resolveConnection, writeConfigFile, type Env } from './config.ts';
import { EXIT, EXIT_CODES_HELP, UsageError } from './exit.ts';
import { openLineWriter, resultFileLine, stdoutWriter } from './files.ts';
import { runJob } from './job-run.ts';
import { runLocal } from './local-run.ts';
import { createRenderer, type LineOutput } from './render.ts';

/** What the commands print to, and the environment they read. */
export interface CliIo {
  env: Env;
  stdout: LineOutput;
  stderr: LineOutput;
}

/** A command's outcome: its exit code, or `forever` for the long-running servers. */
export type Outcome = { code: number };

const integer = (min: number, max: number) => (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
  return n;
};

const CONNECTION_HELP = `The coordinator and key come from --url/--key, else SPARECYCLES_URL/SPARECYCLES_KEY, else the
file \`sparecycles login\` writes ($XDG_CONFIG_HOME/sparecycles/config.json, ~/.config/… by default).`;

/** Builds the program; `outcome.code` holds the exit code once `parseAsync` resolves. */
export function buildProgram(io: CliIo, outcome: Outcome): Command {
  const out = (text: string): void => void io.stdout.write(`${text}\n`);
  const err = (text: string): void => void io.stderr.write(`${text}\n`);
  const filePath = configFilePath(io.env);
  const connect = async (options: { url?: string; key?: string }) => {
    const connection = resolveConnection({ flags: options, env: io.env, file: await readConfigFile(filePath), filePath });
    return { connection, client: new Client({ url: connection.url, key: connection.key }) };
  };
  const withConnection = (command: Command): Command =>
    command.option('--url <url>', 'the coordinator, e.g. http://127.0.0.1:8080').option('--key <key>', 'your key (author, site owner or operator)');

  const program = new Command('sparecycles')
    .description('Run WebAssembly jobs on a sparecycles grid, or run its coordinator or a volunteer.')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (text) => void io.stdout.write(text), writeErr: (text) => void io.stderr.write(text) })
    .addHelpText('after', `\n${CONNECTION_HELP}\n\n${EXIT_CODES_HELP}`);

  program
    .command('login')
    .description('check a coordinator URL and key, then keep them for later commands (file mode 0600)')
    .argument('<url>', 'the coordinator, e.g. https://grid.example.com')
    .argument('<key>', 'your key')
    .action(async (url: string, key: string) => {
      const origin = coordinatorUrl(url, 'URL');
      const grid = await new Client({ url: origin, key }).grid();
      await writeConfigFile(filePath, { url: origin, key });
      out(`logged in to ${origin} (${grid.volunteersOnline} volunteers online); saved in ${filePath}`);
    });

  program
    .command('serve')
    .description('run a coordinator (configured by PORT, HOST, DATA_DIR, SPARECYCLES_ADMIN_KEY, … as `npm start`; the demo is off unless SPARECYCLES_DEMO=1)')
    .action(async () => {
      const { runCoordinator } = await import('../../../server/src/start.ts');
      runCoordinator({ SPARECYCLES_DEMO: '0' });
      // The coordinator owns the process from here and exits on SIGINT/SIGTERM.
      await new Promise(() => {});
    });

  const key = program.command('key').description('keys for task authors and site owners (operator key)');
  withConnection(key.command('create'))
    .description('create a key; its secret is printed once, on stdout')
    .addOption(new Option('--role <role>', 'who gets it').choices(['author', 'site']).makeOptionMandatory())
    .requiredOption('--name <name>', 'whose key it is (1-100 characters)')
    .action(async (options: { role: 'author' | 'site'; name: string; url?: string; key?: string }) => {
      const { client } = await connect(options);
      const created = await client.createKey({ role: options.role, name: options.name });
      err(`created ${created.role} key ${created.id} for "${created.name}"; its secret, shown only now:`);
      out(created.secret);
    });

  const site = program.command('site').description('sites whose visitors volunteer (site owner or operator key)');
  withConnection(site.command('add'))
    .description('register a site; prints the snippet to paste into its pages')
    .requiredOption('--name <name>', "the site's name")
    .requiredOption('--origin <urls...>', 'origins allowed to embed it, e.g. https://example.com')
    .action(async (options: { name: string; origin: string[]; url?: string; key?: string }) => {
      const { client } = await connect(options);
      const created = await client.createSite({ name: options.name, origins: options.origin });
      err(`site ${created.siteKey} ("${created.name}"); paste this into its pages:`);
      out(created.embed);
    });

  const module = program.command('module').description('task modules');
  withConnection(module.command('push'))
    .description('upload a .wasm module; prints its hash')
    .argument('<file>', 'the module')
    .action(async (file: string, options: { url?: string; key?: string }) => {
      const bytes = new Uint8Array(await readFile(file));
      const { client } = await connect(options);
      const info = await client.pushModule(bytes);
      err(`${file}: ${info.abi} ABI, ${info.size} bytes`);
      out(info.hash);
    });

  const job = program.command('job').description('jobs: run, follow, list, cancel');
  withConnection(job.command('run'))
    .description('run a module over every line of an inputs file and write one result line per task')
    .requiredOption('--module <file|hash>', 'a .wasm file (uploaded first) or a module hash')
    .requiredOption('--inputs <file>', 'NDJSON, one input per line: {"base64": "…"} or {"text": "…"}')
    .requiredOption('--out <file>', 'NDJSON results, one line per task: {"index","state","output"(base64),"errors"?}')
    .addOption(new Option('--order <order>', 'completion: lines as tasks finish; input: the file in input order at the end').choices(['completion', 'input']).default('completion'))
    .option('--text', 'add "text" beside "output" when the output is valid UTF-8')
    .option('--redundancy <r>', 'replicas per task', integer(1, 16))
    .option('--quorum <q>', 'agreeing replicas needed', integer(1, 16))
    .option('--priority <p>', 'share of the grid relative to other jobs (default 100)', integer(1, 1000))
    .option('--title <text>', "the job's title")
    .option('--purpose <text>', 'what the work is for, shown to volunteers')
    .option('--deadline-ms <ms>', 'per-task deadline', integer(100, 3_600_000))
    .option('--max-attempts <n>', 'attempts per task before it fails', integer(1, 100))
    .option('--local', "no coordinator: run on this machine's cores with the volunteers' runtime")
    .option('--threads <n>', 'with --local: threads (default: every core)', integer(1, 256))
    .addHelpText(
      'after',
      `\nCompare a grid run with a local one: both with --order input write byte-identical files for
completed tasks (failed tasks' errors carry times), e.g.
  sparecycles job run --module m.wasm --inputs in.ndjson --out grid.ndjson --order input
  sparecycles job run --local --module m.wasm --inputs in.ndjson --out local.ndjson --order input
  cmp grid.ndjson local.ndjson
Ctrl-C asks (on a terminal) whether to cancel the job or leave it running; elsewhere it leaves the
job running and prints how to follow it. While inputs are still being sent it cancels the job.`,
    )
    .action(async (options: JobRunFlags) => {
      const renderer = createRenderer(io.stderr);
      const log = (line: string): void => err(line);
      const order = options.order;
      const text = options.text ?? false;
      if (options.local) {
        outcome.code = await runLocal({ module: options.module, inputs: options.inputs, out: options.out, order, text, threads: options.threads, deadlineMs: options.deadlineMs, maxAttempts: options.maxAttempts, renderer, log });
        return;
      }
      if (options.threads !== undefined) throw new UsageError('--threads applies only with --local');
      const { client } = await connect(options);
      outcome.code = await runJob({ client, module: options.module, inputs: options.inputs, out: options.out, order, text, settings: jobSettings(options), renderer, log });
    });

  withConnection(job.command('status'))
    .description("a job's state and task counts")
    .argument('<id>')
    .option('--json', 'the status as JSON')
    .action(async (id: string, options: { json?: boolean; url?: string; key?: string }) => {
      const { client } = await connect(options);
      const status = await client.job(id).status();
      out(options.json ? JSON.stringify(status) : describeStatus(status));
    });

  withConnection(job.command('results'))
    .description("a job's results as NDJSON lines (the same lines as job run --out)")
    .argument('<id>')
    .addOption(new Option('--order <order>', 'input: every task in input order; completion: settled tasks as they settled').choices(['input', 'completion']).default('input'))
    .option('--follow', 'keep going until the job ends')
    .option('--text', 'add "text" when the output is valid UTF-8')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (id: string, options: { order: 'input' | 'completion'; follow?: boolean; text?: boolean; out?: string; url?: string; key?: string }) => {
      const { client } = await connect(options);
      const writer = options.out ? await openLineWriter(options.out) : stdoutWriter();
      let failed = 0;
      for await (const result of client.job(id).results({ order: options.order, follow: options.follow ?? false, text: options.text ?? false })) {
        await writer.write(resultFileLine(result));
        if (result.state === 'failed' || result.state === 'cancelled') failed++;
      }
      await writer.close();
      outcome.code = failed > 0 ? EXIT.failedTasks : EXIT.ok;
    });

  withConnection(job.command('cancel'))
    .description("cancel a job's unsettled tasks (settled results stay)")
    .argument('<id>')
    .action(async (id: string, options: { url?: string; key?: string }) => {
      const { client } = await connect(options);
      out(describeStatus(await client.job(id).cancel()));
    });

  withConnection(job.command('list'))
    .description('your jobs, newest first (the operator sees everyone’s)')
    .addOption(new Option('--state <state>').choices(['active', 'completed', 'cancelled']))
    .option('--limit <n>', 'at most this many', integer(1, 1000))
    .option('--json', 'one JSON status per line')
    .action(async (options: { state?: JobStatus['state']; limit?: number; json?: boolean; url?: string; key?: string }) => {
      const { client } = await connect(options);
      const jobs = await client.listJobs({ ...(options.state ? { state: options.state } : {}), ...(options.limit ? { limit: options.limit } : {}) });
      for (const status of jobs) out(options.json ? JSON.stringify(status) : listLine(status));
      if (!options.json && jobs.length === 0) err('no jobs');
    });

  program
    .command('volunteer')
    .description("lend this machine's cores to a coordinator (the Node agent); Ctrl-C stops gracefully")
    .option('--url <url>', 'the coordinator (else SPARECYCLES_URL or the login file)')
    .option('--site <key>', 'the site key to volunteer through (else SPARECYCLES_SITE)')
    .option('--threads <n>', 'parallel tasks (default: every core but one)')
    .option('--inline', 'run tasks in the main thread (no isolation; for light benchmarks)')
    .option('--id-file <path>', "file keeping this volunteer's id")
    .action(async (options: { url?: string; site?: string; threads?: string; inline?: boolean; idFile?: string }) => {
      const stored = options.url || io.env['SPARECYCLES_URL'] ? undefined : await readConfigFile(filePath);
      let config;
      try {
        config = agentConfig({ url: options.url ?? stored?.url, siteKey: options.site, workers: options.threads, inline: options.inline, idFile: options.idFile }, io.env);
      } catch (error) {
        if (error instanceof AgentConfigError) throw new UsageError(error.message.replace('--workers', '--threads'));
        throw error;
      }
      const { runVolunteer } = await import('../agent/run.ts');
      outcome.code = await runVolunteer(config);
    });

  return program;
}

interface JobRunFlags extends JobOptions {
  module: string;
  inputs: string;
  out: string;
  order: 'completion' | 'input';
  text?: boolean;
  local?: boolean;
  threads?: number;
  url?: string;
  key?: string;
}

function jobSettings(flags: JobRunFlags): JobOptions {
  const settings: JobOptions = {};
  for (const name of ['title', 'purpose', 'redundancy', 'quorum', 'priority', 'deadlineMs', 'maxAttempts'] as const) {
    if (flags[name] !== undefined) (settings as Record<string, unknown>)[name] = flags[name];
  }
  return settings;
}

function describeStatus(status: JobStatus): string {
  const { total, completed, failed, cancelled, pending, running } = status.counts;
  return [
    `job ${status.id} ${status.state}${status.open ? ' (open: inputs may still be added)' : ''}${status.title ? ` "${status.title}"` : ''}`,
    `  module ${status.module}; redundancy ${status.redundancy}, quorum ${status.quorum}, priority ${status.priority}`,
    `  ${total} tasks: ${completed} completed, ${failed} failed, ${cancelled} cancelled, ${running} running, ${pending} pending`,
  ].join('\n');
}

function listLine(status: JobStatus): string {
  const { total, completed, failed } = status.counts;
  const created = new Date(status.createdAt).toISOString().replace('T', ' ').slice(0, 19);
  return `${status.id}  ${status.state.padEnd(9)}  ${completed}/${total} done  ${failed} failed  ${created}${status.title ? `  ${status.title}` : ''}`;
}
