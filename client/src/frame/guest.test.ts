import { describe, expect, it } from 'vitest';
import { DEFAULT_SITE_LIMITS, HARD_PAUSE_GRACE_MS, HOLD_MS, SOFT_PAUSE_LIMIT_MS } from '../runtime/policy.ts';
import type { Timers } from '../runtime/timers.ts';
import { createGuest, type Steerable } from './guest.ts';

function harness() {
  let now = 1_000_000;
  const pending = new Map<number, { at: number; run: () => void }>();
  let next = 0;
  const timers: Timers = {
    setTimeout: (run, ms) => (pending.set(++next, { at: now + ms, run }), next),
    clearTimeout: (handle) => void pending.delete(handle as number),
  };
  const advance = (ms: number): void => {
    now += ms;
    for (const [id, timer] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > now || !pending.has(id)) continue;
      pending.delete(id);
      timer.run();
    }
  };
  const calls: string[] = [];
  const runtime: Steerable = {
    configure: ({ workers, share }) => calls.push(`configure ${workers} ${share}`),
    pause: () => calls.push('pause'),
    suspend: () => calls.push('suspend'),
    resume: () => calls.push('resume'),
  };
  let paused = false;
  const guest = createGuest({ site: DEFAULT_SITE_LIMITS, visitor: () => ({ paused }), now: () => now, timers });
  guest.attach(runtime);
  return { guest, calls, advance, setPaused: (value: boolean) => (paused = value), now: () => now };
}

const last = (calls: string[]): string | undefined => calls.filter((call) => !call.startsWith('configure')).at(-1);

describe('the guest applies the policy to the runtime', () => {
  it('runs at the policy\'s workers and share when nothing pauses it', () => {
    const { guest, calls } = harness();
    guest.signals({ cores: 4 });
    expect(calls).toContain('configure 3 0.5');
    expect(last(calls)).toBe('resume');
  });

  it('a hard pause lets running work finish for a grace, then hands it back; it resumes after the hold', () => {
    const { guest, calls, advance } = harness();
    guest.signals({ cores: 2, hidden: true });
    expect(last(calls)).toBe('pause');
    advance(HARD_PAUSE_GRACE_MS - 1);
    expect(last(calls)).toBe('pause');
    advance(1);
    expect(last(calls)).toBe('suspend');
    guest.signals({ cores: 2, hidden: false });
    expect(last(calls)).not.toBe('resume');
    advance(HOLD_MS.hidden);
    expect(last(calls)).toBe('resume');
  });

  it('a signal that clears within the grace never suspends', () => {
    const { guest, calls, advance } = harness();
    guest.signals({ hidden: true });
    advance(100);
    guest.signals({ hidden: false });
    advance(HOLD_MS.hidden);
    expect(calls).not.toContain('suspend');
    expect(last(calls)).toBe('resume');
  });

  it('the visitor\'s Pause suspends at once; a busy page only stops new work', () => {
    const { guest, calls, advance, setPaused, now } = harness();
    guest.signals({ pageBusyAt: now() });
    expect(last(calls)).toBe('pause');
    advance(HOLD_MS['page-busy']);
    expect(last(calls)).toBe('resume');
    setPaused(true);
    guest.reconsider();
    expect(last(calls)).toBe('suspend');
  });

  it('a soft pause that goes on (a visitor typing) hands the work back before leases expire; a short one does not', () => {
    const { guest, calls, advance, now } = harness();
    guest.signals({ pageBusyAt: now() });
    advance(HOLD_MS['page-busy']);
    expect(calls).not.toContain('suspend');
    expect(last(calls)).toBe('resume');
    for (let typed = 0; typed <= SOFT_PAUSE_LIMIT_MS; typed += 1_000) {
      guest.signals({ pageInputAt: now() });
      advance(1_000);
    }
    expect(calls).toContain('suspend');
  });

  it('a hard reason during a soft pause shortens the grace to the hard one', () => {
    const { guest, calls, advance, now } = harness();
    guest.signals({ pageInputAt: now() });
    advance(1_000);
    guest.signals({ pageInputAt: now() - 1_000, battery: { charging: false } });
    advance(HARD_PAUSE_GRACE_MS);
    expect(last(calls)).toBe('suspend');
  });
});
