/** Streamed jobs: reading NDJSON and framed bodies, staging their inputs, and following results. */
export { batchInputs, DEFAULT_BATCH, type BatchLimits } from './batches.ts';
export { createJobEvents, type JobEvents } from './events.ts';
export { readFrames, type Frame } from './frames.ts';
export { idleLimited } from './idle.ts';
export { stageItems, type IngestLimits } from './ingest.ts';
export { decodeInputLine, parseJsonLine } from './input-line.ts';
export { splitLines, type Line } from './lines.ts';
export { resultLine, resultLines, RESULTS_PAGE, type ResultOptions } from './results.ts';
export { maxLineBytes, MAX_OPTIONS_BYTES, streamForm, streamItems, type StreamForm, type StreamItem } from './stream-items.ts';
