#!/usr/bin/env node
// The `sparecycles` command from source, for development and the CLI's tests: tsx's loader, then
// the same entry the package compiles.
import { register } from 'tsx/esm/api';

register();
await import('./bin.ts');
