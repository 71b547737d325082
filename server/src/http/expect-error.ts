/** Test support: asserts a reply is the one error body `{ error: { code, message } }` with `status`. */
import { expect } from 'vitest';

export function expectError(reply: { statusCode: number; json(): unknown }, status: number, code: string, message?: RegExp): void {
  expect(reply.statusCode).toBe(status);
  const body = reply.json() as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  if (message) expect(body.error.message).toMatch(message);
}
