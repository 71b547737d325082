import { describe, expect, it } from 'vitest';
import { DEFAULT_RUN_OPTIONS, MAX_RUN_INPUT_BYTES, parseFrameReply, parsePageRequest, parseRunOptions, runError } from './protocol.ts';
import { allowRun } from './rate.ts';

const hash = 'a'.repeat(64);
const input = Uint8Array.of(1, 2, 3);

describe('parsePageRequest', () => {
  it('accepts a run, filling in the default options', () => {
    expect(parsePageRequest({ type: 'sparecycles:run', id: 1, module: hash, input })).toEqual({
      type: 'sparecycles:run',
      id: 1,
      module: hash,
      input,
      options: DEFAULT_RUN_OPTIONS,
    });
  });

  it.each([{ type: 'sparecycles:pause' }, { type: 'sparecycles:resume' }])('accepts %j', (message) => {
    expect(parsePageRequest(message)).toEqual(message);
  });

  it.each([
    ['nothing', null],
    ['a string', 'sparecycles:run'],
    ['an unknown type', { type: 'sparecycles:eval', code: '1' }],
    ['a module that is no hash', { type: 'sparecycles:run', id: 1, module: 'x', input }],
    ['an upper-case hash', { type: 'sparecycles:run', id: 1, module: 'A'.repeat(64), input }],
    ['an input that is no Uint8Array', { type: 'sparecycles:run', id: 1, module: hash, input: [1, 2, 3] }],
    ['an input over the cap', { type: 'sparecycles:run', id: 1, module: hash, input: new Uint8Array(MAX_RUN_INPUT_BYTES + 1) }],
    ['a negative id', { type: 'sparecycles:run', id: -1, module: hash, input }],
    ['a fractional id', { type: 'sparecycles:run', id: 1.5, module: hash, input }],
    ['a bad fallback', { type: 'sparecycles:run', id: 1, module: hash, input, options: { fallback: 'anywhere' } }],
    ['a timeout over ten minutes', { type: 'sparecycles:run', id: 1, module: hash, input, options: { timeoutMs: 600_001 } }],
    ['a negative queue time', { type: 'sparecycles:run', id: 1, module: hash, input, options: { queueMs: -1 } }],
  ])('refuses %s', (_name, message) => {
    expect(parsePageRequest(message)).toBeUndefined();
  });
});

describe('parseRunOptions', () => {
  it('keeps what is given and fills in the rest', () => {
    expect(parseRunOptions({ timeoutMs: 1500.7, fallback: 'none' })).toEqual({ timeoutMs: 1500, queueMs: 2000, fallback: 'none' });
  });
});

describe('parseFrameReply', () => {
  it.each([
    [{ type: 'sparecycles:ran', id: 3, output: input, ranOn: 'grid' }],
    [{ type: 'sparecycles:failed', id: 3, error: { code: 'trap', message: 'unreachable' } }],
    [{ type: 'sparecycles:stats', stats: { running: 1, completed: 2, cpuMs: 30 } }],
  ])('accepts %j', (message) => {
    expect(parseFrameReply(message)).toEqual(message);
  });

  it.each([
    { type: 'sparecycles:ran', id: 3, output: 'AAEC', ranOn: 'grid' },
    { type: 'sparecycles:ran', id: 3, output: input, ranOn: 'elsewhere' },
    { type: 'sparecycles:failed', id: 3, error: { code: 'made_up', message: 'x' } },
    { type: 'sparecycles:failed', id: 3, error: 'trap' },
    { type: 'sparecycles:stats', stats: { running: -1, completed: 2, cpuMs: 30 } },
    { type: 'sparecycles:state', state: 'accepted' },
  ])('refuses %j', (message) => {
    expect(parseFrameReply(message)).toBeUndefined();
  });
});

describe('runError', () => {
  it('keeps known codes and hides others as unavailable', () => {
    expect(runError('trap', 'm')).toEqual({ code: 'trap', message: 'm' });
    expect(runError('site_not_found', 'm')).toEqual({ code: 'unavailable', message: 'm' });
  });
});

describe('allowRun (the frame\'s per-visitor limit)', () => {
  it.each<[string, number[], number, number, boolean, number]>([
    ['first call', [], 2, 1000, true, 1],
    ['under the limit', [500], 2, 1000, true, 2],
    ['at the limit', [500, 900], 2, 1000, false, 2],
    ['old calls no longer count', [0, 500], 2, 60_001, true, 2],
    ['calls from the future are dropped', [70_000], 1, 1000, true, 1],
  ])('%s', (_name, recent, perMinute, now, allowed, kept) => {
    const decision = allowRun(recent, perMinute, now);
    expect(decision.allowed).toBe(allowed);
    expect(decision.recent).toHaveLength(kept);
  });
});
