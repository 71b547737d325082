/** Groups a stream of inputs into batches for one insert transaction each. */

export interface BatchLimits {
  /** Inputs per batch at most. */
  maxCount: number;
  /** Bytes per batch at most (a batch holds at least one input, whatever its size). */
  maxBytes: number;
}

/** 1000 inputs or 4 MiB: a transaction of a few milliseconds, and little memory held. */
export const DEFAULT_BATCH: BatchLimits = Object.freeze({ maxCount: 1000, maxBytes: 4 * 1024 * 1024 });

/** Consecutive batches of `inputs`, in order, none empty. */
export async function* batchInputs(inputs: AsyncIterable<Uint8Array>, limits: BatchLimits = DEFAULT_BATCH): AsyncGenerator<Uint8Array[]> {
  let batch: Uint8Array[] = [];
  let bytes = 0;
  for await (const input of inputs) {
    if (batch.length > 0 && (batch.length >= limits.maxCount || bytes + input.byteLength > limits.maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(input);
    bytes += input.byteLength;
  }
  if (batch.length > 0) yield batch;
}
