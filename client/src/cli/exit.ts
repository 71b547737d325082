/**
 * The CLI's exit codes and the advice printed with each failure: what went wrong, then what to do
 * next. Pure: `failureReport` turns anything thrown into a message and an exit code.
 */
import { SpareCyclesError } from '../sdk/index.ts';

/** Documented in `sparecycles --help`. */
export const EXIT = {
  ok: 0,
  /** The job ended with failed (or cancelled) tasks. */
  failedTasks: 1,
  /** Bad flags or arguments, a missing config, an unreadable input file. */
  usage: 2,
  /** The coordinator refused, or could not be reached. */
  server: 3,
  /** Ctrl-C: the job was cancelled or left running, as printed. */
  interrupted: 130,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    the job ended with failed or cancelled tasks
  2    usage: bad flags or arguments, no URL or key configured, an unreadable file
  3    the coordinator refused the request or could not be reached
  130  interrupted (Ctrl-C): the job was cancelled or left running, as printed`;

/** A mistake in how the CLI was called: exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What to do next after a coordinator's refusal. */
export function advice(error: SpareCyclesError, url: string): string | undefined {
  switch (error.code) {
    case 'network':
      return `is the coordinator running at ${url}? (start one with \`sparecycles serve\`, or check --url / SPARECYCLES_URL)`;
    case 'unauthorized':
      return /revoked/i.test(error.message)
        ? 'ask the operator for a new key: `sparecycles key create --role author --name NAME`, then `sparecycles login URL KEY`'
        : 'check the key: --key, SPARECYCLES_KEY, or `sparecycles login URL KEY`';
    case 'forbidden':
      return 'this key has the wrong role for this command; ask the operator for a key with the role it needs';
    case 'job_not_found':
      return 'check the id: `sparecycles job list` shows your jobs';
    case 'module_not_found':
      return 'upload it first: `sparecycles module push FILE`, or pass the .wasm file to --module';
    case 'rate_limited':
      return 'too many attempts; wait a minute and try again';
    case 'payload_too_large':
      return 'the message above names the limit; split the work or ask the operator to raise it';
    case 'not_found':
      return `the coordinator at ${url} does not know this request; is it an up-to-date sparecycles coordinator?`;
    default:
      return undefined;
  }
}

/** The message and exit code for anything a command threw. */
export function failureReport(error: unknown, url: string): { message: string; code: number } {
  if (error instanceof UsageError) return { message: `error: ${error.message}`, code: EXIT.usage };
  if (error instanceof SpareCyclesError) {
    const next = advice(error, url);
    const status = error.status ? ` (${error.status} ${error.code})` : ` (${error.code})`;
    return { message: `error: ${error.message}${status}${next ? `\n  ${next}` : ''}`, code: EXIT.server };
  }
  // A file that cannot be read or written (ENOENT, EACCES, …) is the caller's to fix.
  if (error instanceof Error && 'syscall' in error && typeof (error as NodeJS.ErrnoException).code === 'string') {
    return { message: `error: ${error.message}`, code: EXIT.usage };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `error: ${message}`, code: EXIT.server };
}
