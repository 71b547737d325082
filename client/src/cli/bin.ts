#!/usr/bin/env node
// The `sparecycles` command (compiled into the package's bin).
import { main } from './main.ts';

const code = await main(process.argv, { env: process.env, stdout: process.stdout, stderr: process.stderr });
// A reader that left early (`| head`) is not an error of ours.
process.stdout.on('error', () => process.exit(code));
// process.exit does not wait for a piped stdout: let what was written reach the reader first.
process.stdout.write('', () => process.exit(code));
