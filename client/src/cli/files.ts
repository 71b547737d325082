/**
 * The CLI's NDJSON files. Inputs: one `{"base64": "…"}` or `{"text": "…"}` per line, read line by
 * line (never the whole file). Results: one line per task, `{"index","state","output"?,"errors"?}`
 * with the output as base64, written the same way by coordinator and `--local` runs.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { JobInput, JobResult } from '../sdk/index.ts';
import { UsageError } from './exit.ts';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The input on one line of an inputs file; `where` names the file and line in the error. */
export function parseInputLine(line: string, where: string): JobInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new UsageError(`${where}: not JSON; expected {"base64": "…"} or {"text": "…"}`);
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const keys = Object.keys(parsed);
    const value = (parsed as Record<string, unknown>)[keys[0] ?? ''];
    if (keys.length === 1 && keys[0] === 'text' && typeof value === 'string') return value;
    if (keys.length === 1 && keys[0] === 'base64' && typeof value === 'string') {
      // Canonical padded base64 only, as the coordinator takes it: a lenient decoder would hide typos.
      const bytes = BASE64.test(value) ? Buffer.from(value, 'base64') : undefined;
      if (!bytes || bytes.toString('base64') !== value) throw new UsageError(`${where}: "base64" is not valid padded base64`);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
  }
  throw new UsageError(`${where}: expected exactly one key, {"base64": "…"} or {"text": "…"}`);
}

/** The inputs of an NDJSON file, streamed; blank lines are skipped. */
export async function* readInputFile(path: string): AsyncGenerator<JobInput> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === '') continue;
    yield parseInputLine(line, `${path} line ${number}`);
  }
}

/** What a results-file line carries. */
export type ResultRecord = Pick<JobResult, 'index' | 'state' | 'output' | 'errors'> & { text?: string | undefined };

/** One results-file line (with `\n`), fields always in the same order so files compare byte for byte. */
export function resultFileLine(result: ResultRecord): string {
  const line: Record<string, unknown> = { index: result.index, state: result.state };
  if (result.output !== undefined) line['output'] = Buffer.from(result.output.buffer, result.output.byteOffset, result.output.byteLength).toString('base64');
  if (result.text !== undefined) line['text'] = result.text;
  if (result.errors !== undefined && result.errors.length > 0) line['errors'] = result.errors;
  return `${JSON.stringify(line)}\n`;
}

/** Appends lines to a file (created or emptied first), waiting when the disk falls behind. */
export interface LineWriter {
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

export async function openLineWriter(path: string): Promise<LineWriter> {
  const stream = createWriteStream(path, { encoding: 'utf8' });
  await once(stream, 'open');
  return {
    async write(line) {
      if (!stream.write(line)) await once(stream, 'drain');
    },
    async close() {
      await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
    },
  };
}

/** Lines to stdout, with the same backpressure. */
export function stdoutWriter(): LineWriter {
  return {
    async write(line) {
      if (!process.stdout.write(line)) await once(process.stdout, 'drain');
    },
    async close() {},
  };
}
