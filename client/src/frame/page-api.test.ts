import { describe, expect, it } from 'vitest';
import { localResult } from './page-api.ts';

describe('localResult (a pool outcome as the answer to the page)', () => {
  it.each([
    ['no worker took it: run it elsewhere', 'busy' as const, 'busy'],
    ['terminated before it finished (suspended, stopped): run it elsewhere', { ok: false as const, kind: 'cancelled' as const, message: 'x', ms: 0 }, 'busy'],
    ['a trap is the answer: it would trap anywhere', { ok: false as const, kind: 'trap' as const, message: 'unreachable', ms: 3 }, { ok: false, error: { code: 'trap', message: 'unreachable' } }],
    ['its time limit', { ok: false as const, kind: 'timeout' as const, message: 'late', ms: 9 }, { ok: false, error: { code: 'timeout', message: 'late' } }],
    ['an output', { ok: true as const, output: Uint8Array.of(7), ms: 1 }, { ok: true, output: Uint8Array.of(7) }],
  ])('%s', (_name, outcome, expected) => {
    expect(localResult(outcome)).toEqual(expected);
  });
});
