import { describe, expect, it } from 'vitest';
import { parseTabMessage } from './tabs.ts';

const status = { running: 1, resting: 0, completed: 3, cpuMs: 1200, pausedBy: ['page-input'], jobs: [{ id: 'j', title: 'primes', purpose: null }] };

describe('parseTabMessage', () => {
  it('accepts the leader\'s status and the small requests', () => {
    expect(parseTabMessage({ type: 'status', status })).toEqual({ type: 'status', status });
    expect(parseTabMessage({ type: 'hello' })).toEqual({ type: 'hello' });
    expect(parseTabMessage({ type: 'visibility', tab: 'abc', visible: true })).toEqual({ type: 'visibility', tab: 'abc', visible: true });
    expect(parseTabMessage({ type: 'bye', tab: 'abc' })).toEqual({ type: 'bye', tab: 'abc' });
    expect(parseTabMessage({ type: 'busy', kind: 'input' })).toEqual({ type: 'busy', kind: 'input' });
  });

  it('drops extra fields of jobs', () => {
    const parsed = parseTabMessage({ type: 'status', status: { ...status, jobs: [{ id: 'j', title: 't', purpose: 'p', html: '<b>' }] } });
    expect(parsed).toEqual({ type: 'status', status: { ...status, jobs: [{ id: 'j', title: 't', purpose: 'p' }] } });
  });

  it.each([
    ['not an object', 'status'],
    ['unknown type', { type: 'run' }],
    ['negative count', { type: 'status', status: { ...status, running: -1 } }],
    ['unknown pause reason', { type: 'status', status: { ...status, pausedBy: ['bored'] } }],
    ['a job without an id', { type: 'status', status: { ...status, jobs: [{ title: 't', purpose: null }] } }],
    ['too many jobs', { type: 'status', status: { ...status, jobs: Array.from({ length: 17 }, (_, i) => ({ id: String(i), title: null, purpose: null })) } }],
    ['an error that is not text', { type: 'status', status: { ...status, error: 42 } }],
    ['visibility without a tab', { type: 'visibility', visible: true }],
    ['busy of an unknown kind', { type: 'busy', kind: 'bored' }],
    ['visibility that is not a boolean', { type: 'visibility', tab: 'a', visible: 'yes' }],
  ])('refuses %s', (_name, data) => {
    expect(parseTabMessage(data)).toBeUndefined();
  });
});
