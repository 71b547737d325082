/**
 * Text the coordinator keeps must be stored as given. A JSON string may carry a lone UTF-16
 * surrogate (`"\ud800"`), which no UTF-8 column can hold: SQLite and PostgreSQL would keep U+FFFD
 * instead, and the author would read back something else than they sent. Bytes that are not UTF-8
 * in a JSON body are the same problem one step earlier. Both are refused with 400 naming where.
 */
import { CodedError } from './errors.ts';

/** Node 20's `String.prototype.isWellFormed` (ES2024; the project's TypeScript lib predates it). */
const wellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * Only what JSON parses into is walked: a streamed body (a Readable, with its cycles) or a module's
 * bytes are not text, and walking them would never end.
 */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The path (`body/inputs/3`, `querystring/state`) of the first string, or object key, in `value`
 * that is not well-formed UTF-16; undefined when there is none. Walks iteratively: a deeply
 * nested body cannot exhaust the stack.
 */
export function illFormedPath(value: unknown, root: string): string | undefined {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [item, path] = stack.pop()!;
    if (typeof item === 'string') {
      if (!wellFormed(item)) return path;
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) stack.push([item[i], `${path}/${i}`]);
    } else if (isPlainObject(item)) {
      const entries = Object.entries(item);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        if (!wellFormed(key)) return `${path} (a field name)`;
        stack.push([child, `${path}/${key}`]);
      }
    }
  }
  return undefined;
}

/** Throws `bad_request` naming where `value` holds a lone surrogate (`what`: `body`, `line 3`…). */
export function assertWellFormed(value: unknown, what: string): void {
  const path = illFormedPath(value, what);
  if (path !== undefined) throw new CodedError('bad_request', `${path} contains a lone UTF-16 surrogate, which cannot be stored as given`);
}

