/**
 * One validator for every wire payload: TypeBox's compiled checker, used as fastify's validator
 * compiler and by the Socket.IO handlers, so HTTP and socket refuse the same things the same way
 * (unknown fields included) and report the first problem by path.
 */
import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import type { FastifySchemaCompiler } from 'fastify';
import { CodedError } from '../protocol/errors.ts';

/** A compiled check: the value typed, or a message naming the first problem. */
export type Checker<T> = (value: unknown) => { ok: true; value: T } | { ok: false; message: string };

const compiled = new WeakMap<TSchema, Checker<unknown>>();

/** TypeBox's messages start with a capital; only that letter is lowered (patterns stay as they are). */
const lowerFirst = (text: string): string => text.charAt(0).toLowerCase() + text.slice(1);

/**
 * The problem to report: for a value that matches no member of a union (`string or null`), the
 * member's problem that reaches deepest into the value (`/colors/background`, not `/colors`), the
 * first member's on a tie.
 */
function innermost(error: ValueError): ValueError {
  if (error.type !== ValueErrorType.Union) return error;
  let best = error;
  for (const member of error.errors) {
    const first = member.First();
    if (!first) continue;
    const inner = innermost(first);
    if (best === error || inner.path.length > best.path.length) best = inner;
  }
  return best;
}

/** Compiles (once per schema object) a checker; `what` names the payload in messages (`body`, `lease`). */
export function compileChecker<S extends TSchema>(schema: S, what: string): Checker<Static<S>> {
  let check = compiled.get(schema);
  if (!check) {
    const type = TypeCompiler.Compile(schema);
    check = (value) => {
      if (type.Check(value)) return { ok: true, value };
      const reported = type.Errors(value).First();
      if (!reported) return { ok: false, message: 'invalid payload' };
      const first = innermost(reported);
      const where = first.path === '' ? '' : ` at ${first.path}`;
      // A pattern that says what it means in its description is named by that, not by its regex.
      const described =
        first.type === ValueErrorType.StringPattern && typeof first.schema.description === 'string'
          ? `expected ${first.schema.description}`
          : undefined;
      const message =
        first.message === 'Unexpected property'
          ? `unknown field${where}`
          : `${described ?? lowerFirst(first.message)}${where}`;
      return { ok: false, message };
    };
    compiled.set(schema, check);
  }
  return ((value: unknown) => {
    const result = check(value);
    return result.ok ? result : { ok: false, message: `${what}: ${result.message}` };
  }) as Checker<Static<S>>;
}

/** Fastify validator compiler over TypeBox: a refusal is a `bad_request` naming the part and path. */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = compileChecker(schema, httpPart ?? 'request');
  return (data: unknown) => {
    const result = check(data);
    return result.ok ? { value: result.value } : { error: new CodedError('bad_request', result.message) };
  };
};
