/**
 * Stages a request's inputs in the store, batch by batch, as they arrive: memory holds one batch
 * whatever the body's length, and reading waits for each insert (back-pressure on the client).
 */
import { CodedError } from '../protocol/errors.ts';
import type { Store } from '../store/index.ts';
import { batchInputs, DEFAULT_BATCH, type BatchLimits } from './batches.ts';
import type { StreamItem } from './stream-items.ts';

export interface IngestLimits {
  maxTasksPerJob: number;
}

/** The inputs of `items` (which hold only inputs), refused past the job's task limit. */
async function* inputsOf(items: AsyncIterable<StreamItem>, fromIndex: number, maxTasksPerJob: number): AsyncGenerator<Uint8Array> {
  let index = fromIndex;
  for await (const item of items) {
    if (item.kind !== 'input') throw new CodedError('bad_request', `${item.where}: expected an input`);
    if (index >= maxTasksPerJob) {
      throw new CodedError('payload_too_large', `${item.where}: a job has at most ${maxTasksPerJob} tasks (SPARECYCLES_MAX_TASKS_PER_JOB)`);
    }
    index++;
    yield item.bytes;
  }
}

/** Stages every input of `items` as tasks `fromIndex`, … of the job; returns the job's new task count. */
export async function stageItems(
  store: Pick<Store, 'stageInputs'>,
  jobId: string,
  fromIndex: number,
  items: AsyncIterable<StreamItem>,
  limits: IngestLimits,
  now: () => number,
  batch: BatchLimits = DEFAULT_BATCH,
): Promise<number> {
  let total = fromIndex;
  for await (const inputs of batchInputs(inputsOf(items, fromIndex, limits.maxTasksPerJob), batch)) {
    await store.stageInputs(jobId, total, inputs, now());
    total += inputs.length;
  }
  return total;
}
