/** The coordinator's HTTP surface: the app builder and what other folders may use of it. */
export { buildApp } from './app.ts';
export type { AppDeps, JobScheduler } from './deps.ts';
export { moduleUrl } from './routes/modules.ts';
export { embedSnippet } from './routes/sites.ts';
export { frameCsp } from './csp.ts';
export { compileChecker, type Checker } from './validation.ts';
