import { describe, expect, it } from 'vitest';
import { Encoder, type Packet } from 'socket.io-parser';
import { Value } from '@sinclair/typebox/value';
import { FailRequest, LeaseRequest, MAX_RESULTS_PER_EVENT, ResultRequest, ResultsRequest, VolunteerAuth, VOLUNTEER_NAMESPACE } from '../protocol/events.ts';
import { CONNECT_PACKET_CHARS, EVENT_PACKET_LIMITS, maxMessageBytes } from './packet-limits.ts';

/** The text frame socket.io-parser writes for `data` on `/volunteer`, with the longest ack id. */
function textFrame(type: number, data: unknown): string {
  const [text] = new Encoder().encode({ type, nsp: VOLUNTEER_NAMESPACE, id: Number.MAX_SAFE_INTEGER, data } as Packet);
  return text as string;
}

const hardest = '\u0000';

describe('packet limits', () => {
  it('admit the largest payload each schema allows, at its worst JSON escaping', () => {
    const lease = { slots: 128, workers: 64, cached: Array<string>(256).fill('a'.repeat(64)) };
    const fail = { leaseId: hardest.repeat(128), kind: 'timeout', message: hardest.repeat(2000) };
    const result = { leaseId: hardest.repeat(128), output: new Uint8Array(4), cpuMs: 86_399_999.123456789 };
    expect(Value.Check(LeaseRequest, lease) && Value.Check(FailRequest, fail) && Value.Check(ResultRequest, result)).toBe(true);
    expect(textFrame(2, ['lease', lease]).length).toBeLessThanOrEqual(EVENT_PACKET_LIMITS.lease.textChars);
    expect(textFrame(2, ['fail', fail]).length).toBeLessThanOrEqual(EVENT_PACKET_LIMITS.fail.textChars);
    expect(textFrame(5, ['result', result]).length).toBeLessThanOrEqual(EVENT_PACKET_LIMITS.result.textChars);
    const results = { results: Array.from({ length: MAX_RESULTS_PER_EVENT }, () => result) };
    expect(Value.Check(ResultsRequest, results)).toBe(true);
    expect(textFrame(5, ['results', results]).length).toBeLessThanOrEqual(EVENT_PACKET_LIMITS.results.textChars);
    expect(EVENT_PACKET_LIMITS.results.attachments).toBe(MAX_RESULTS_PER_EVENT);
    const auth = { siteKey: hardest.repeat(128), volunteerId: 'v'.repeat(128), agent: 'browser' };
    expect(Value.Check(VolunteerAuth, auth)).toBe(true);
    expect(textFrame(0, auth).length).toBeLessThanOrEqual(CONNECT_PACKET_CHARS);
  });

  it('stay small: a lease or fail packet is refused long before a result-sized one', () => {
    expect(EVENT_PACKET_LIMITS.lease.textChars).toBeLessThan(20_000);
    expect(EVENT_PACKET_LIMITS.fail.textChars).toBeLessThan(13_000);
    expect(EVENT_PACKET_LIMITS.result.textChars).toBeLessThan(1_000);
    expect(EVENT_PACKET_LIMITS.lease.attachments + EVENT_PACKET_LIMITS.fail.attachments).toBe(0);
    expect(EVENT_PACKET_LIMITS.result.attachments).toBe(1);
  });

  it('let through the largest output the limits accept, with its framing', () => {
    expect(maxMessageBytes(4 * 1024 * 1024)).toBe(4 * 1024 * 1024 + 64 * 1024);
  });
});
