/**
 * The `sparecycles` command: parses the arguments and turns every outcome into an exit code
 * (see exit.ts), printing errors with what to do next.
 */
import { CommanderError } from 'commander';
import { EXIT, failureReport } from './exit.ts';
import { buildProgram, type CliIo, type Outcome } from './program.ts';

/** Runs the CLI with `argv` (including node and the script) and resolves with its exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const outcome: Outcome = { code: EXIT.ok };
  const program = buildProgram(io, outcome);
  try {
    await program.parseAsync([...argv]);
    return outcome.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help asked for (exit code 0) is a success; anything else commander refuses is a usage error.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const urlHint = argv.includes('--url') ? argv[argv.indexOf('--url') + 1] ?? '' : io.env['SPARECYCLES_URL'] ?? 'the configured URL';
    const { message, code } = failureReport(error, urlHint);
    io.stderr.write(`${message}\n`);
    return code;
  }
}
