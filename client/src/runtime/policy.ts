/**
 * The idle policy, as pure code: from the site's limits, the visitor's choice and the browser's
 * signals, how many workers may run, at what duty cycle, and whether (and how hard) to pause.
 *
 * Pause reasons and what they do to work in hand:
 *   visitor                 the visitor pressed Pause: running tasks are terminated at once, the
 *                           leases handed back (the visitor asked for their CPU back, now).
 *   battery, save-data,     the machine or the visitor's settings say "not now": running tasks get
 *   hidden, pressure        `HARD_PAUSE_GRACE_MS` to finish (short tasks are not wasted), then are
 *                           terminated and their leases handed back, so a long task does not keep
 *                           a discharging laptop busy for minutes.
 *   page-busy, page-input   the host page is busy or its visitor is using it: no new task starts,
 *                           running ones finish (these come and go every few seconds; terminating
 *                           on each would waste work and save little); a soft pause that lasts
 *                           `SOFT_PAUSE_LIMIT_MS` hands the work in hand back like a hard one.
 *
 * Hysteresis: a reason counts from when it was last seen active until its hold time has passed,
 * so a signal that flickers keeps the pool paused instead of flapping it, and the pool resumes by
 * itself once every reason has been quiet for its hold. A signal the browser does not offer is
 * never a reason to pause.
 */

/** Limits the site owner set (the visitor can only tighten them). */
export interface SiteLimits {
  /** At most this many workers; `null`: the visitor's cores minus one. */
  maxWorkers: number | null;
  /** The highest duty cycle a visitor may choose (0.1–1). */
  maxShare: number;
  /** The duty cycle until the visitor chooses (0.1–1, at most `maxShare`). */
  defaultShare: number;
  pauseWhenHidden: boolean;
}

/** What the visitor chose in the control. */
export interface VisitorChoice {
  /** Their duty cycle; `undefined` until they pick one. */
  share?: number | undefined;
  paused: boolean;
}

export type Pressure = 'nominal' | 'fair' | 'serious' | 'critical';

/** What the browser and the host page tell; a missing field is a signal the browser lacks. */
export interface Signals {
  cores?: number | undefined;
  /** Battery Status: present only where the browser tells. */
  battery?: { charging: boolean } | undefined;
  saveData?: boolean | undefined;
  hidden?: boolean | undefined;
  pressure?: Pressure | undefined;
  /** When the host page last reported a long task (epoch ms). */
  pageBusyAt?: number | undefined;
  /** When the host page last reported input activity (epoch ms). */
  pageInputAt?: number | undefined;
  /** The host page asked the grid to hold off (its `pause()`), until its `resume()`: a `page-busy` pause. */
  pagePaused?: boolean | undefined;
}

export type PauseReason = 'visitor' | 'battery' | 'save-data' | 'hidden' | 'pressure' | 'page-busy' | 'page-input';

/** `soft`: start nothing new; `hard`: also stop running work after a grace; `now`: stop it at once. */
export type PauseStrength = 'soft' | 'hard' | 'now';

export const PAUSE_STRENGTH: Readonly<Record<PauseReason, PauseStrength>> = {
  visitor: 'now',
  battery: 'hard',
  'save-data': 'hard',
  hidden: 'hard',
  pressure: 'hard',
  'page-busy': 'soft',
  'page-input': 'soft',
};

/** How long a reason keeps the pool paused after it was last seen active, in ms. */
export const HOLD_MS: Readonly<Record<PauseReason, number>> = {
  visitor: 0,
  battery: 5_000,
  'save-data': 0,
  hidden: 1_000,
  pressure: 10_000,
  'page-busy': 10_000,
  'page-input': 3_000,
};

/** Running tasks' time to finish after a hard pause, before they are terminated. */
export const HARD_PAUSE_GRACE_MS = 3_000;

/**
 * How long a soft pause may hold leases in hand: past it they are handed back, before they reach
 * their deadlines (an expired lease counts against the volunteer).
 */
export const SOFT_PAUSE_LIMIT_MS = 15_000;

/** The shares the control offers: light, normal, full. */
export const SHARE_CHOICES = [0.25, 0.5, 1] as const;

export const MIN_SHARE = 0.1;
export const MAX_WORKERS = 64;

/** When each reason was last seen active (epoch ms): the policy's only memory. */
export type PolicyMemory = Readonly<Partial<Record<PauseReason, number>>>;

export interface PolicyInput {
  site: SiteLimits;
  visitor: VisitorChoice;
  signals: Signals;
  now: number;
  memory: PolicyMemory;
}

export interface Decision {
  /** Workers that may run tasks at once. */
  workers: number;
  /** Each worker's duty cycle, 0.1–1. */
  share: number;
  /** Why the pool is paused (empty: it runs). */
  pausedBy: PauseReason[];
  /** The strongest pause in force, or `undefined` when running. */
  strength: PauseStrength | undefined;
  /** When the decision may change with no new signal (a hold ending), or `undefined`. */
  recheckAt: number | undefined;
}

const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));
const finite = (value: number | undefined): value is number => typeof value === 'number' && Number.isFinite(value);

/** Workers for this machine and site: cores − 1 (at least one), never above the site's cap. */
export function workersFor(site: SiteLimits, cores: number | undefined): number {
  const own = finite(cores) && cores >= 1 ? Math.max(1, Math.floor(cores) - 1) : 1;
  const cap = site.maxWorkers === null ? MAX_WORKERS : Math.max(1, Math.floor(site.maxWorkers));
  return Math.min(own, cap, MAX_WORKERS);
}

/** The duty cycle in force: the visitor's choice (or the site's default), never above the site's cap. */
export function shareFor(site: SiteLimits, visitor: VisitorChoice): number {
  const cap = clamp(finite(site.maxShare) ? site.maxShare : 1, MIN_SHARE, 1);
  const wanted = finite(visitor.share) ? visitor.share : finite(site.defaultShare) ? site.defaultShare : 0.5;
  return clamp(wanted, MIN_SHARE, cap);
}

/** The share choices the control offers a visitor under this site's cap (at least one). */
export function shareChoices(site: SiteLimits): number[] {
  const cap = clamp(site.maxShare, MIN_SHARE, 1);
  const under = SHARE_CHOICES.filter((share) => share <= cap);
  return under.length > 0 ? [...under] : [cap];
}

/** The reasons active at this instant, from the signals alone. */
export function activeReasons(site: SiteLimits, visitor: VisitorChoice, signals: Signals, now: number): PauseReason[] {
  const reasons: PauseReason[] = [];
  if (visitor.paused) reasons.push('visitor');
  if (signals.battery && !signals.battery.charging) reasons.push('battery');
  if (signals.saveData === true) reasons.push('save-data');
  if (site.pauseWhenHidden && signals.hidden === true) reasons.push('hidden');
  if (signals.pressure === 'serious' || signals.pressure === 'critical') reasons.push('pressure');
  // A report from the future (a skewed clock) counts as now, not as a pause without end.
  if (signals.pagePaused === true || (finite(signals.pageBusyAt) && Math.min(signals.pageBusyAt, now) + HOLD_MS['page-busy'] > now)) {
    reasons.push('page-busy');
  }
  if (finite(signals.pageInputAt) && Math.min(signals.pageInputAt, now) + HOLD_MS['page-input'] > now) reasons.push('page-input');
  return reasons;
}

const STRENGTH_ORDER: readonly PauseStrength[] = ['soft', 'hard', 'now'];

/** Decides, and returns the memory to pass to the next call. */
export function decide(input: PolicyInput): { decision: Decision; memory: PolicyMemory } {
  const { site, visitor, signals, now } = input;
  const memory: Partial<Record<PauseReason, number>> = { ...input.memory };
  for (const reason of activeReasons(site, visitor, signals, now)) {
    // The page's own reports carry their time; a later report must not be cut short by an older one.
    const at = reason === 'page-busy' && !signals.pagePaused ? signals.pageBusyAt : reason === 'page-input' ? signals.pageInputAt : now;
    memory[reason] = Math.max(memory[reason] ?? -Infinity, Math.min(at ?? now, now));
  }
  const pausedBy: PauseReason[] = [];
  let recheckAt: number | undefined;
  for (const [reason, seen] of Object.entries(memory) as [PauseReason, number][]) {
    const until = seen + HOLD_MS[reason];
    const stillActive = reason === 'visitor' ? visitor.paused : seen === now || until > now;
    if (!stillActive) {
      delete memory[reason];
      continue;
    }
    pausedBy.push(reason);
    if (until > now) recheckAt = recheckAt === undefined ? until : Math.min(recheckAt, until);
  }
  // Reasons still active keep `seen === now` and are re-stamped on every call; a hold only
  // starts counting once its signal has gone.
  const strength = pausedBy.reduce<PauseStrength | undefined>((strongest, reason) => {
    const own = PAUSE_STRENGTH[reason];
    return strongest === undefined || STRENGTH_ORDER.indexOf(own) > STRENGTH_ORDER.indexOf(strongest) ? own : strongest;
  }, undefined);
  return {
    decision: {
      workers: workersFor(site, signals.cores),
      share: shareFor(site, visitor),
      pausedBy: pausedBy.sort(),
      strength,
      recheckAt,
    },
    memory,
  };
}

/** The defaults a site gets when its owner set nothing. */
export const DEFAULT_SITE_LIMITS: SiteLimits = Object.freeze({
  maxWorkers: null,
  maxShare: 1,
  defaultShare: 0.5,
  pauseWhenHidden: true,
});
