/**
 * NDJSON both ways: job inputs as request lines (`{"text":…}` / `{"base64":…}`) gathered into
 * batches bounded by count and bytes, and response bodies split back into lines as they stream.
 */
import { toBase64 } from './base64.ts';
import { SpareCyclesError } from './errors.ts';

/** One task input: text is sent as UTF-8 text, bytes as base64. */
export type JobInput = Uint8Array | string;

/** Inputs a job is made of, produced all at once or over time. */
export type JobInputs = Iterable<JobInput> | AsyncIterable<JobInput>;

/** How big one request of inputs may get. */
export interface BatchLimits {
  /** Inputs per batch at most. */
  maxCount: number;
  /** UTF-8 bytes per batch at most (a single larger input travels alone). */
  maxBytes: number;
}

/** 5,000 inputs or 4 MiB per request: well under the coordinator's body limits, few round trips. */
export const DEFAULT_BATCH: BatchLimits = { maxCount: 5_000, maxBytes: 4 * 1024 * 1024 };

/** Lines of a batch, ready to send (each line ends in `\n`). */
export interface Batch {
  body: string;
  count: number;
  bytes: number;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The NDJSON line (without `\n`) of input number `index`; refuses text that is not valid Unicode. */
export function inputLine(input: JobInput, index: number): string {
  if (typeof input === 'string') {
    // JSON.stringify would send a lone surrogate as an escape the coordinator refuses; say so here.
    if (LONE_SURROGATE.test(input)) {
      throw new SpareCyclesError('bad_request', 0, `input ${index} is text with a lone UTF-16 surrogate (not valid Unicode); send it as bytes instead`);
    }
    return JSON.stringify({ text: input });
  }
  if (input instanceof Uint8Array) return `{"base64":"${toBase64(input)}"}`;
  throw new SpareCyclesError('bad_request', 0, `input ${index} is neither a string nor a Uint8Array`);
}

/** Bytes of `text` in UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Groups `lines` (no trailing `\n`) into batches within `limits`, in order, none empty. */
export async function* batchLines(lines: Iterable<string> | AsyncIterable<string>, limits: BatchLimits = DEFAULT_BATCH): AsyncGenerator<Batch> {
  let parts: string[] = [];
  let bytes = 0;
  for await (const line of lines) {
    const size = utf8Length(line) + 1;
    if (parts.length > 0 && (parts.length >= limits.maxCount || bytes + size > limits.maxBytes)) {
      yield { body: parts.join(''), count: parts.length, bytes };
      parts = [];
      bytes = 0;
    }
    parts.push(`${line}\n`);
    bytes += size;
  }
  if (parts.length > 0) yield { body: parts.join(''), count: parts.length, bytes };
}

/** Every input as its NDJSON line, numbered from 0. */
export async function* inputLines(inputs: JobInputs): AsyncGenerator<string> {
  let index = 0;
  for await (const input of inputs) yield inputLine(input, index++);
}

/** The non-blank lines of a streamed UTF-8 body, as they complete. */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  for await (const chunk of chunks) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n', start)) {
      const line = pending.slice(start, newline).trim();
      if (line) yield line;
      start = newline + 1;
    }
    pending = pending.slice(start);
  }
  const last = (pending + decoder.decode()).trim();
  if (last) yield last;
}
