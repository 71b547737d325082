import { describe, expect, it } from 'vitest';
import { addSample, etaMs, formatDuration, formatProgress, formatRate, ratePerSecond, type ProgressSample } from './progress.ts';
import { createRenderer } from './render.ts';

describe('rates and ETA', () => {
  it('measures tasks per second over the last 10 s, keeping one older sample as the baseline', () => {
    let samples: ProgressSample[] = [];
    for (let second = 0; second <= 30; second++) samples = addSample(samples, { at: second * 1000, done: second < 20 ? second * 100 : 2000 + (second - 20) * 10 });
    expect(samples[0]!.at).toBe(20_000);
    expect(ratePerSecond(samples)).toBeCloseTo(10);
  });

  it('has no rate until two samples half a second apart', () => {
    expect(ratePerSecond([])).toBeUndefined();
    expect(ratePerSecond([{ at: 0, done: 0 }])).toBeUndefined();
    expect(ratePerSecond([{ at: 0, done: 0 }, { at: 400, done: 9 }])).toBeUndefined();
    expect(ratePerSecond([{ at: 0, done: 0 }, { at: 500, done: 10 }])).toBe(20);
  });

  it.each([
    [100, 10, 10_000],
    [0, undefined, 0],
    [5, 0, undefined],
    [5, undefined, undefined],
  ])('ETA of %i tasks at %s/s is %s ms', (remaining, rate, expected) => {
    expect(etaMs(remaining, rate)).toBe(expected);
  });
});

describe('formatting', () => {
  it.each([
    [0, '0s'],
    [1, '1s'],
    [59_000, '59s'],
    [60_000, '1m 00s'],
    [125_400, '2m 06s'],
    [3_600_000, '1h 00m'],
    [3 * 3_600_000 + 4 * 60_000, '3h 04m'],
    [53 * 3_600_000, '2d 05h'],
  ])('%i ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([
    [1234.4, '1,234'],
    [12.345, '12.3'],
    [0.25, '0.25'],
  ])('rate %f is %s', (rate, text) => {
    expect(formatRate(rate)).toBe(text);
  });

  it('shows done/total, failures, rate, ETA and volunteers', () => {
    expect(formatProgress({ done: 1234, total: 100_000, failed: 3, rate: 812, workers: 5 })).toBe(
      '1,234/100,000 done (1.2%), 3 failed, 812 tasks/s, ETA 2m 02s, 5 volunteers online',
    );
    expect(formatProgress({ done: 0, total: 10, failed: 0, rate: undefined, workers: 1 })).toBe('0/10 done (0.0%), 0 failed, … tasks/s, ETA ?, 1 volunteer online');
    expect(formatProgress({ done: 10, total: 5000, failed: 0, rate: 2, workers: undefined, uploading: true })).toBe(
      '10/5,000+ done (0.2%), 0 failed, 2.00 tasks/s, sending inputs',
    );
    expect(formatProgress({ done: 3, total: 3, failed: 1, rate: 1.5, workers: '2 local threads' })).toBe('3/3 done (100.0%), 1 failed, 1.50 tasks/s, ETA 0s, 2 local threads');
  });
});

describe('the renderer', () => {
  function output(isTTY: boolean, columns = 80) {
    const writes: string[] = [];
    return { writes, isTTY, columns, write: (text: string) => writes.push(text) };
  }

  it('redraws one line in place on a terminal, cut to its width', () => {
    const tty = output(true, 20);
    const renderer = createRenderer(tty);
    renderer.update('short');
    renderer.update('a line much longer than twenty columns');
    renderer.done('finished');
    expect(tty.writes).toEqual(['\rshort\x1b[K', '\ra line much longer…\x1b[K', '\r\x1b[K', 'finished\n']);
  });

  it('prints a plain line every few seconds elsewhere', () => {
    const log = output(false);
    let now = 0;
    const renderer = createRenderer(log, () => now, 5_000);
    for (now = 0; now <= 12_000; now += 1_000) renderer.update(`at ${now}`);
    renderer.clear();
    renderer.done('finished');
    expect(log.writes).toEqual(['at 0\n', 'at 5000\n', 'at 10000\n', 'finished\n']);
  });
});
