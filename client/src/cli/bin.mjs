#!/usr/bin/env node
// The `sparecycles` command from source: tsx's loader, then the CLI. (The published package
// points its bin at the compiled JavaScript instead.)
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const code = await main(process.argv, { env: process.env, stdout: process.stdout, stderr: process.stderr });
process.exit(code);
