/**
 * Chaos 3: modules that trap. A job whose module always traps, and a job whose module traps on
 * some inputs, run side by side on honest volunteers: each trapping task fails after exactly
 * `maxAttempts` attempts with every attempt's reason kept, and every other task completes with the
 * exact output.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startNodeVolunteer, type NodeVolunteer } from '../../client/src/agent/index.ts';
import { BEHAVING_WAT, TRAP } from '../../client/src/testing/modules.ts';
import type { TestCoordinator } from '../../server/src/http/testing.ts';
import { startChaosGrid } from '../support/chaos-grid.ts';
import { watToWasm } from '../../wasm/testing/wat.ts';
import { resultProblems, waitForJobSettled, type ChaosApi } from '../support/chaos-jobs.ts';

/** The bytes ABI's shape, and a `run` that traps whatever the input. */
const ALWAYS_TRAPS_WAT = `(module
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 64))
  (func (export "run") (param i32) (param i32) (result i32) unreachable))`;

const MAX_ATTEMPTS = 3;

let coordinator: TestCoordinator;
let api: ChaosApi;
let siteKey: string;
const volunteers: NodeVolunteer[] = [];

beforeEach(async () => {
  ({ coordinator, api, siteKey } = await startChaosGrid());
});

afterEach(async () => {
  for (const volunteer of volunteers.splice(0)) await volunteer.stop();
  await coordinator.close();
});

it('trapping tasks fail after maxAttempts with every reason; the rest complete exactly', async () => {
  const alwaysTraps = await api.uploadModule(await watToWasm(ALWAYS_TRAPS_WAT));
  const behaving = await api.uploadModule(await watToWasm(BEHAVING_WAT));

  // Every third input traps; the others answer their byte plus one.
  const inputs = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? TRAP : Uint8Array.of(i)));
  const trapping = inputs.map((input, i) => (input === TRAP ? i : -1)).filter((i) => i >= 0);
  const mixed = await api.createJob({ module: behaving, inputs, maxAttempts: MAX_ATTEMPTS });
  const doomed = await api.createJob({ module: alwaysTraps, inputs: Array.from({ length: 6 }, (_, i) => Uint8Array.of(i)), maxAttempts: MAX_ATTEMPTS });

  for (let i = 0; i < 2; i++) volunteers.push(await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1 }));

  const doomedStatus = await waitForJobSettled(api, doomed, { timeoutMs: 30_000 });
  expect(doomedStatus.counts).toMatchObject({ total: 6, completed: 0, failed: 6 });
  const mixedStatus = await waitForJobSettled(api, mixed, { timeoutMs: 30_000 });
  expect(mixedStatus.counts).toMatchObject({ total: inputs.length, completed: inputs.length - trapping.length, failed: trapping.length });

  const expectTrapHistory = (errors: { attempt: number; kind: string; message: string }[] | undefined, label: string): void => {
    expect(errors?.map((error) => [error.attempt, error.kind]), label).toEqual(
      Array.from({ length: MAX_ATTEMPTS }, (_, i) => [i + 1, 'trap']),
    );
    for (const error of errors ?? []) expect(error.message, label).toMatch(/unreachable/i);
  };

  for (const line of await api.jobResults(doomed)) {
    expect(line.state).toBe('failed');
    expectTrapHistory(line.errors, `always-trapping task ${line.index}`);
  }

  const results = await api.jobResults(mixed);
  for (const index of trapping) {
    expect(results[index]?.state, `task ${index}`).toBe('failed');
    expectTrapHistory(results[index]?.errors, `trapping task ${index}`);
  }
  const answering = results.filter((line) => !trapping.includes(line.index));
  const expected = answering.map((line) => Uint8Array.of((inputs[line.index]?.[0] ?? 0) + 1));
  // Renumbered so `resultProblems` sees an exact list: the answering tasks, in order.
  expect(resultProblems(answering.map((line, i) => ({ ...line, index: i })), expected)).toEqual([]);
  for (const line of answering) expect(line.errors ?? [], `task ${line.index}`).toEqual([]);
});
