import { describe, expect, it } from 'vitest';
import { MAX_FRAME, parseFrameMessage } from './messages.ts';

describe('parseFrameMessage', () => {
  it.each([
    [{ type: 'sparecycles:resize', width: 300, height: 120 }, { type: 'sparecycles:resize', width: 300, height: 120 }],
    [{ type: 'sparecycles:resize', width: 300.2, height: 0 }, { type: 'sparecycles:resize', width: 301, height: 0 }],
    [
      { type: 'sparecycles:resize', width: 5000, height: 9000 },
      { type: 'sparecycles:resize', width: MAX_FRAME.width, height: MAX_FRAME.height },
    ],
    [{ type: 'sparecycles:state', state: 'accepted' }, { type: 'sparecycles:state', state: 'accepted' }],
    [{ type: 'sparecycles:state', state: 'declined' }, { type: 'sparecycles:state', state: 'declined' }],
  ])('accepts %j', (data, expected) => {
    expect(parseFrameMessage(data)).toEqual(expected);
  });

  it.each([
    null,
    undefined,
    'sparecycles:resize',
    42,
    {},
    { type: 'sparecycles:resize', width: -1, height: 10 },
    { type: 'sparecycles:resize', width: Number.NaN, height: 10 },
    { type: 'sparecycles:resize', width: Number.POSITIVE_INFINITY, height: 10 },
    { type: 'sparecycles:resize', width: '300', height: 10 },
    { type: 'sparecycles:resize', width: 300 },
    { type: 'sparecycles:state', state: 'hacked' },
    { type: 'sparecycles:state', state: 'toString' },
    { type: 'sparecycles:run', module: 'x' },
  ])('refuses %j', (data) => {
    expect(parseFrameMessage(data)).toBeUndefined();
  });
});
