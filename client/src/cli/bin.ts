#!/usr/bin/env node
// The `sparecycles` command (compiled into the package's bin).
import { main } from './main.ts';

process.exit(await main(process.argv, { env: process.env, stdout: process.stdout, stderr: process.stderr }));
