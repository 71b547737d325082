/**
 * The task ABI host: everything the browser worker, the Node agent and the coordinator's upload
 * validation need to check, compile and run task modules.
 */
export { compileTask, runTask } from './host.ts';
export { classifyModule, BYTES_ABI_IMPORTS, RUNTIME_NAMESPACE, WASI_NAMESPACE, WASI_PREVIEW1_FUNCTIONS } from './abi.ts';
export type { Classification, TaskAbi } from './abi.ts';
export { capMemory, capTables, readMemoryLimits, WASM_PAGE_BYTES } from './binary.ts';
export type { MemoryLimits } from './binary.ts';
export { readFunctionSignatures } from './signatures.ts';
export type { FunctionSignatures } from './signatures.ts';
export type { FailureKind, TaskHooks, TaskLimits, TaskOutcome } from './outcome.ts';
export { checkResources, resourceProblems, RESOURCE_LIMITS } from './resource-limits.ts';
export type { ResourceLimits } from './resource-limits.ts';
export { readModuleResources } from './module-resources.ts';
export type { ModuleResources, TableClaim } from './module-resources.ts';
