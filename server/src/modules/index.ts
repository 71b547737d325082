/** Task-module checks at upload. */
export { moduleHash, validateModule, type ModuleLimits } from './validate.ts';
