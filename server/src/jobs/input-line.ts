/**
 * One NDJSON input line → the input's bytes: `{"base64": "…"}` (canonical padded base64) or
 * `{"text": "…"}` (sent as its UTF-8 bytes), exactly one key. The line itself must be valid UTF-8
 * and a text well-formed UTF-16 (no lone surrogate): nothing is silently replaced by U+FFFD.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CodedError } from '../protocol/errors.ts';
import { InputLine } from '../protocol/http.ts';
import { decodeBase64Strict } from '../protocol/base64.ts';
import { assertWellFormed } from '../protocol/well-formed.ts';

const inputLine = TypeCompiler.Compile(InputLine);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes of a line as JSON text; `where` names the line in refusals (`line 7`). */
export function parseJsonLine(bytes: Uint8Array, where: string): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new CodedError('bad_request', `${where}: not valid UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CodedError('bad_request', `${where}: not valid JSON (${(error as Error).message})`);
  }
}

/** The input of one line, refused with `line N: …` (400, or 413 past `maxInputBytes`). */
export function decodeInputLine(bytes: Uint8Array, where: string, maxInputBytes: number): Uint8Array {
  const value = parseJsonLine(bytes, where);
  if (!inputLine.Check(value)) {
    throw new CodedError('bad_request', `${where}: expected {"base64": "…"} or {"text": "…"} (exactly one of the two keys)`);
  }
  let input: Uint8Array;
  if ('text' in value) {
    assertWellFormed(value.text, `${where}: text`);
    input = Buffer.from(value.text, 'utf8');
  } else {
    const decoded = decodeBase64Strict(value.base64);
    if (!decoded) throw new CodedError('bad_request', `${where}: base64 is not valid (RFC 4648, padded)`);
    input = decoded;
  }
  if (input.byteLength > maxInputBytes) {
    throw new CodedError('payload_too_large', `${where}: an input of ${input.byteLength} bytes is over the limit of ${maxInputBytes} bytes (SPARECYCLES_MAX_INPUT_BYTES)`);
  }
  return input;
}
