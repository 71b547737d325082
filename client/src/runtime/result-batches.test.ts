import { describe, expect, it } from 'vitest';
import type { AckReply, ResultRequest, ResultsReply } from '../../../server/src/protocol/events.ts';
import { createResultBatches, groupResults } from './result-batches.ts';

const result = (leaseId: string, bytes = 4): ResultRequest => ({ leaseId, output: new Uint8Array(bytes), cpuMs: 1 });

/** A coordinator end that records what it was sent and answers each lease id as `answers` says. */
function coordinator(answers: Record<string, AckReply> = {}) {
  const sent: string[][] = [];
  const answer = (request: ResultRequest): AckReply => answers[request.leaseId] ?? { ok: true };
  return {
    sent,
    options: {
      sendOne: async (request: ResultRequest): Promise<AckReply> => (sent.push([request.leaseId]), answer(request)),
      sendMany: async (requests: ResultRequest[]): Promise<ResultsReply> => (sent.push(requests.map((r) => r.leaseId)), { outcomes: requests.map(answer) }),
    },
  };
}

describe('result batches', () => {
  it('sends each result alone until the coordinator says it takes batches', async () => {
    const end = coordinator();
    const batches = createResultBatches(end.options);
    await Promise.all([batches.send(result('a')), batches.send(result('b'))]);
    expect(end.sent).toEqual([['a'], ['b']]);
  });

  it('sends the results of one turn together, within the item bound, each with its own answer', async () => {
    const stale: AckReply = { error: { code: 'stale_lease', message: 'gone' } };
    const end = coordinator({ c: stale });
    const batches = createResultBatches(end.options);
    batches.configure(2, 1000);
    const replies = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => batches.send(result(id))));
    expect(end.sent).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(replies).toEqual([{ ok: true }, { ok: true }, stale, { ok: true }, { ok: true }]);
    // A new connection (configure 0) goes back to one result per event.
    batches.configure(0, 0);
    await Promise.all([batches.send(result('f')), batches.send(result('g'))]);
    expect(end.sent.slice(3)).toEqual([['f'], ['g']]);
  });

  it('keeps the outputs of one event within the byte bound; an oversized output goes alone', () => {
    const entries = [result('a', 600), result('b', 600), result('c', 300), result('d', 5000), result('e', 1)].map((request) => ({ request }));
    expect(groupResults(entries, 8, 1000).map((group) => group.map((entry) => entry.request.leaseId))).toEqual([['a'], ['b', 'c'], ['d'], ['e']]);
  });

  it('fails every result of a batch whose event was lost, and answers a whole-batch refusal to each', async () => {
    const lost = createResultBatches({ sendOne: async () => ({ ok: true }), sendMany: () => Promise.reject(new Error('timeout')) });
    lost.configure(8, 1000);
    const outcomes = await Promise.allSettled([lost.send(result('a')), lost.send(result('b'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);

    const refusal: ResultsReply = { error: { code: 'bad_request', message: 'no' } };
    const refused = createResultBatches({ sendOne: async () => ({ ok: true }), sendMany: async () => refusal });
    refused.configure(8, 1000);
    expect(await Promise.all([refused.send(result('a')), refused.send(result('b'))])).toEqual([refusal, refusal]);
  });
});
