import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CodedError } from './errors.ts';
import { assertWellFormed, illFormedPath } from './well-formed.ts';

describe('illFormedPath', () => {
  it.each<[string, unknown, string | undefined]>([
    ['plain text', { title: 'hello' }, undefined],
    ['a surrogate pair (one emoji) is well formed', { title: 'ok \ud83d\ude00' }, undefined],
    ['a lone high surrogate', { title: 'half \ud83d' }, 'body/title'],
    ['a lone low surrogate', { title: '\ude00 first' }, 'body/title'],
    ['pair reversed', { title: '\ude00\ud83d' }, 'body/title'],
    ['inside an array', { inputs: ['a', 'b', 'c\ud800'] }, 'body/inputs/2'],
    ['deep inside objects', { settings: { colors: { text: '\udfff' } } }, 'body/settings/colors/text'],
    ['in a field name', { ['\ud800']: 1 }, 'body (a field name)'],
    ['the first one found, in order', { a: 'ok', b: '\ud800', c: '\ud800' }, 'body/b'],
    ['numbers, booleans, null', { n: 1, b: true, z: null }, undefined],
    ['bytes are not text', new Uint8Array([0xed, 0xa0, 0x80]), undefined],
    ['a bare string', '\ud800', 'body'],
  ])('%s', (_name, value, expected) => {
    expect(illFormedPath(value, 'body')).toBe(expected);
  });

  it('walks a deeply nested value without exhausting the stack', () => {
    let value: unknown = '\ud800';
    for (let i = 0; i < 100_000; i++) value = [value];
    expect(illFormedPath(value, 'body')).toMatch(/^body(\/0){100000}$/);
  });

  it('a streamed body is not walked (its cycles would never end)', () => {
    expect(illFormedPath(Readable.from(['\ud800']), 'body')).toBeUndefined();
  });

  it('a query string object is checked like a body', () => {
    expect(illFormedPath({ state: 'active', q: ['a', '\udc00'] }, 'querystring')).toBe('querystring/q/1');
    expect(illFormedPath(Object.assign(Object.create(null), { q: '\udc00' }), 'querystring')).toBe('querystring/q');
  });
});

describe('assertWellFormed', () => {
  it('throws bad_request naming where', () => {
    expect(() => assertWellFormed({ name: '\ud800' }, 'line 3')).toThrow(new CodedError('bad_request', 'line 3/name contains a lone UTF-16 surrogate, which cannot be stored as given'));
    expect(() => assertWellFormed({ name: 'fine' }, 'line 3')).not.toThrow();
  });
});
