/**
 * A streamed job body, in either form, as one sequence of items: the job's options (first, when
 * the request carries them) then its inputs. Both forms give the same items for the same job.
 *
 *   application/x-ndjson               line 1: options JSON; then one `{"base64"}` / `{"text"}` per
 *                                      line; blank lines ignored
 *   application/x-sparecycles-inputs   frame 1: options JSON; then one input per frame
 */
import { CodedError } from '../protocol/errors.ts';
import { INPUT_FRAMES_TYPE, NDJSON_TYPE } from '../protocol/http.ts';
import { readFrames } from './frames.ts';
import { decodeInputLine, parseJsonLine } from './input-line.ts';
import { splitLines } from './lines.ts';

export type StreamForm = 'ndjson' | 'frames';

export type StreamItem =
  | { kind: 'options'; value: unknown; where: string }
  | { kind: 'input'; bytes: Uint8Array; where: string };

export interface StreamLimits {
  maxInputBytes: number;
}

/** The options line or frame is small; this bounds it. */
export const MAX_OPTIONS_BYTES = 64 * 1024;

/** The form of a content type, or undefined for another type. */
export function streamForm(contentType: string | undefined): StreamForm | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type === NDJSON_TYPE ? 'ndjson' : type === INPUT_FRAMES_TYPE ? 'frames' : undefined;
}

/**
 * The longest input line: base64 of the largest input, or its text with every byte escaped as
 * `\uXXXX` (6 bytes), plus the key and braces.
 */
export function maxLineBytes(maxInputBytes: number): number {
  return Math.max(MAX_OPTIONS_BYTES, 6 * maxInputBytes + 64);
}

/** The items of a body; `withOptions` when its first line or frame is the job's options. */
export async function* streamItems(
  form: StreamForm,
  chunks: AsyncIterable<Uint8Array>,
  limits: StreamLimits,
  withOptions: boolean,
): AsyncGenerator<StreamItem> {
  const { maxInputBytes } = limits;
  let optionsDue = withOptions;
  if (form === 'ndjson') {
    const note = `inputs are at most ${maxInputBytes} bytes: SPARECYCLES_MAX_INPUT_BYTES`;
    for await (const line of splitLines(chunks, { maxLineBytes: maxLineBytes(maxInputBytes), limitNote: note })) {
      const where = `line ${line.number}`;
      if (isBlank(line.bytes)) continue;
      if (optionsDue) {
        optionsDue = false;
        yield { kind: 'options', value: parseJsonLine(line.bytes, where), where };
      } else {
        yield { kind: 'input', bytes: decodeInputLine(line.bytes, where, maxInputBytes), where };
      }
    }
  } else {
    const limitOf = (number: number) =>
      withOptions && number === 1
        ? { maxBytes: MAX_OPTIONS_BYTES, note: 'the options frame' }
        : { maxBytes: maxInputBytes, note: 'SPARECYCLES_MAX_INPUT_BYTES' };
    for await (const frame of readFrames(chunks, { limitOf })) {
      const where = `frame ${frame.number}`;
      if (optionsDue) {
        optionsDue = false;
        yield { kind: 'options', value: parseJsonLine(frame.bytes, where), where };
      } else {
        yield { kind: 'input', bytes: frame.bytes, where };
      }
    }
  }
  if (optionsDue) throw new CodedError('bad_request', `the body ended before the job's options (the first ${form === 'ndjson' ? 'line' : 'frame'})`);
}

function isBlank(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09) return false;
  return true;
}
