import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SITE_LIMITS,
  HOLD_MS,
  MAX_WORKERS,
  MIN_SHARE,
  decide,
  shareChoices,
  shareFor,
  workersFor,
  type PolicyMemory,
  type Signals,
  type SiteLimits,
  type VisitorChoice,
} from './policy.ts';

const site = (overrides: Partial<SiteLimits> = {}): SiteLimits => ({ ...DEFAULT_SITE_LIMITS, ...overrides });
const running: VisitorChoice = { paused: false };
const once = (signals: Signals, options: { site?: SiteLimits; visitor?: VisitorChoice; now?: number; memory?: PolicyMemory } = {}) =>
  decide({ site: options.site ?? site(), visitor: options.visitor ?? running, signals, now: options.now ?? 1_000_000, memory: options.memory ?? {} });

describe('workers and share', () => {
  it.each([
    [site(), 2, 1],
    [site(), 8, 7],
    [site(), 1, 1],
    [site(), undefined, 1],
    [site(), Number.NaN, 1],
    [site({ maxWorkers: 2 }), 8, 2],
    [site({ maxWorkers: 16 }), 8, 7],
    [site(), 1000, MAX_WORKERS],
  ])('site %j on %s cores → %s workers', (limits, cores, expected) => {
    expect(workersFor(limits, cores)).toBe(expected);
  });

  it.each([
    [site(), running, 0.5],
    [site(), { paused: false, share: 1 }, 1],
    [site(), { paused: false, share: 0.25 }, 0.25],
    [site({ maxShare: 0.5 }), { paused: false, share: 1 }, 0.5],
    [site({ maxShare: 0.3, defaultShare: 0.3 }), running, 0.3],
    [site(), { paused: false, share: 0 }, MIN_SHARE],
    [site(), { paused: false, share: Number.NaN }, 0.5],
  ])('site %j, visitor %j → share %s', (limits, visitor, expected) => {
    expect(shareFor(limits, visitor)).toBe(expected);
  });

  it('offers only shares under the site cap, and always at least one', () => {
    expect(shareChoices(site())).toEqual([0.25, 0.5, 1]);
    expect(shareChoices(site({ maxShare: 0.5 }))).toEqual([0.25, 0.5]);
    expect(shareChoices(site({ maxShare: 0.2 }))).toEqual([0.2]);
  });
});

describe('pause reasons', () => {
  it.each<[string, Signals, SiteLimits, string[], string | undefined]>([
    ['no signals at all', {}, site(), [], undefined],
    ['charging battery', { battery: { charging: true } }, site(), [], undefined],
    ['discharging battery', { battery: { charging: false } }, site(), ['battery'], 'hard'],
    ['save-data', { saveData: true }, site(), ['save-data'], 'hard'],
    ['hidden page', { hidden: true }, site(), ['hidden'], 'hard'],
    ['hidden page, site keeps working when hidden', { hidden: true }, site({ pauseWhenHidden: false }), [], undefined],
    ['fair pressure', { pressure: 'fair' }, site(), [], undefined],
    ['serious pressure', { pressure: 'serious' }, site(), ['pressure'], 'hard'],
    ['critical pressure', { pressure: 'critical' }, site(), ['pressure'], 'hard'],
    ['a long task in the page 1 s ago', { pageBusyAt: 999_000 }, site(), ['page-busy'], 'soft'],
    ['a long task in the page long ago', { pageBusyAt: 1_000_000 - HOLD_MS['page-busy'] }, site(), [], undefined],
    ['the page called pause()', { pagePaused: true }, site(), ['page-busy'], 'soft'],
    ['the page called pause() and had a long task long ago', { pagePaused: true, pageBusyAt: 1 }, site(), ['page-busy'], 'soft'],
    ['input in the page just now', { pageInputAt: 1_000_000 }, site(), ['page-input'], 'soft'],
    ['input and a discharging battery', { pageInputAt: 1_000_000, battery: { charging: false } }, site(), ['battery', 'page-input'], 'hard'],
  ])('%s', (_name, signals, limits, reasons, strength) => {
    const { decision } = once(signals, { site: limits });
    expect(decision.pausedBy).toEqual(reasons);
    expect(decision.strength).toBe(strength);
  });

  it('the visitor pausing stops work at once, and resumes at once', () => {
    expect(once({}, { visitor: { paused: true } }).decision.strength).toBe('now');
    const { memory } = once({}, { visitor: { paused: true } });
    expect(once({}, { memory }).decision.pausedBy).toEqual([]);
  });

  it('resumes by itself after a reason has been quiet for its hold, and says when to look again', () => {
    let now = 0;
    let { decision, memory } = decide({ site: site(), visitor: running, signals: { battery: { charging: false } }, now, memory: {} });
    expect(decision.pausedBy).toEqual(['battery']);
    now = 2_000;
    ({ decision, memory } = decide({ site: site(), visitor: running, signals: { battery: { charging: true } }, now, memory }));
    expect(decision.pausedBy).toEqual(['battery']);
    expect(decision.recheckAt).toBe(HOLD_MS.battery);
    ({ decision, memory } = decide({ site: site(), visitor: running, signals: { battery: { charging: true } }, now: HOLD_MS.battery, memory }));
    expect(decision.pausedBy).toEqual([]);
    expect(decision.recheckAt).toBeUndefined();
  });
});

const arbSite = fc.record({
  maxWorkers: fc.option(fc.integer({ min: 1, max: 64 }), { nil: null }),
  maxShare: fc.double({ min: MIN_SHARE, max: 1, noNaN: true }),
  defaultShare: fc.double({ min: MIN_SHARE, max: 1, noNaN: true }),
  pauseWhenHidden: fc.boolean(),
});
const arbSignals: fc.Arbitrary<Signals> = fc.record(
  {
    cores: fc.option(fc.integer({ min: 0, max: 256 }), { nil: undefined }),
    battery: fc.option(fc.record({ charging: fc.boolean() }), { nil: undefined }),
    saveData: fc.option(fc.boolean(), { nil: undefined }),
    hidden: fc.option(fc.boolean(), { nil: undefined }),
    pressure: fc.option(fc.constantFrom('nominal', 'fair', 'serious', 'critical' as const), { nil: undefined }),
    pageBusyAt: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
    pageInputAt: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
  },
  { requiredKeys: [] },
);
const arbVisitor = fc.record({ paused: fc.boolean(), share: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }) });

describe('policy properties', () => {
  it('never exceeds any cap: workers ≤ cores − 1 (≥ 1), ≤ the site cap; share ≤ the site cap', () => {
    fc.assert(
      fc.property(arbSite, arbVisitor, arbSignals, fc.integer({ min: 0, max: 200_000 }), (limits, visitor, signals, now) => {
        const { decision } = decide({ site: limits, visitor, signals, now, memory: {} });
        expect(decision.workers).toBeGreaterThanOrEqual(1);
        if (signals.cores !== undefined && signals.cores >= 2) expect(decision.workers).toBeLessThanOrEqual(signals.cores - 1);
        if (limits.maxWorkers !== null) expect(decision.workers).toBeLessThanOrEqual(limits.maxWorkers);
        expect(decision.share).toBeLessThanOrEqual(Math.max(MIN_SHARE, limits.maxShare));
        expect(decision.share).toBeGreaterThanOrEqual(MIN_SHARE);
      }),
    );
  });

  it('pauses whenever a reason is active, and a reason-free run never pauses', () => {
    fc.assert(
      fc.property(arbSite, arbVisitor, arbSignals, fc.integer({ min: 0, max: 200_000 }), (limits, visitor, signals, now) => {
        const { decision } = decide({ site: limits, visitor, signals, now, memory: {} });
        const anyReason =
          visitor.paused ||
          signals.battery?.charging === false ||
          signals.saveData === true ||
          (limits.pauseWhenHidden && signals.hidden === true) ||
          signals.pressure === 'serious' ||
          signals.pressure === 'critical' ||
          (signals.pageBusyAt !== undefined && Math.min(signals.pageBusyAt, now) + HOLD_MS['page-busy'] > now) ||
          (signals.pageInputAt !== undefined && Math.min(signals.pageInputAt, now) + HOLD_MS['page-input'] > now);
        expect(decision.pausedBy.length > 0).toBe(anyReason);
      }),
    );
  });

  it('does not flap: a signal flickering faster than its hold keeps the pool paused from its first sighting on', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 4_000 }), fc.boolean()), { minLength: 2, maxLength: 40 }),
        (steps) => {
          let memory: PolicyMemory = {};
          let now = 0;
          let lastDischarging = -Infinity;
          let transitions = 0;
          let paused = false;
          for (const [step, discharging] of steps) {
            now += step;
            const result = decide({ site: site(), visitor: running, signals: { battery: { charging: !discharging } }, now, memory });
            memory = result.memory;
            if (discharging) lastDischarging = now;
            const isPaused = result.decision.pausedBy.includes('battery');
            // Paused exactly while the battery discharged within its hold.
            expect(isPaused).toBe(now - lastDischarging < HOLD_MS.battery);
            if (isPaused !== paused) transitions += 1;
            paused = isPaused;
          }
          // A resume needs a full quiet hold, so resumes are at least a hold apart.
          expect(transitions).toBeLessThanOrEqual(2 * Math.ceil(now / HOLD_MS.battery) + 1);
        },
      ),
    );
  });
});
