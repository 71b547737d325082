/**
 * fast-check fuzzing of every `/volunteer` event's payload over real Socket.IO against a real
 * coordinator: `lease`, `result`, `fail` and unknown events, with wrong arities, binary where
 * text is expected, huge and odd numbers and nested junk, and the handshake's `auth`. Whatever is
 * sent: every event is acknowledged (an `{ error: { code, message } }` of the catalogue, or a
 * well-formed answer), the connection stays up, the coordinator stays healthy, and nothing is
 * stored: the job's tasks are neither completed nor failed, and no error is recorded on them.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connectClient, type Socket } from 'socket.io-client';
import { ERROR_STATUS } from '../protocol/errors.ts';
import { prepareVolunteering, startTestCoordinator, type TestCoordinator } from '../http/testing.ts';

let c: TestCoordinator;
let siteKey: string;
let jobId: string;

// Generous rates: this suite checks answers to payloads, not the rate limits (defences.test.ts).
const LIMITS = { socketEventBurst: 1_000_000, addressEventBurst: 1_000_000, socketFloodDisconnect: 1_000_000 };

beforeAll(async () => {
  c = await startTestCoordinator({ limits: LIMITS });
  await c.listen();
  let moduleHash: string;
  ({ siteKey, moduleHash } = await prepareVolunteering(c, 'primes'));
  const inputs = Array.from({ length: 50 }, () => Buffer.alloc(8).toString('base64'));
  jobId = (await c.api('POST', '/jobs', { module: moduleHash, inputs })).json().id;
});

afterAll(async () => {
  await c.close();
});

function open(auth: unknown): Socket {
  return connectClient(`${c.url}/volunteer`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: auth as object });
}

type Outcome = { ok: true } | { ok: false; message: string; data: unknown } | { ok: false; closed: string } | { ok: false; silent: true };

/** How a handshake ends: connected, refused with a message, closed (a malformed packet), or silence. */
function connection(client: Socket): Promise<Outcome> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, silent: true }), 5000);
    const end = (outcome: Outcome): void => {
      clearTimeout(timer);
      resolve(outcome);
    };
    client.once('connect', () => end({ ok: true }));
    client.once('connect_error', (error: Error & { data?: unknown }) => end({ ok: false, message: error.message, data: error.data }));
    client.io.once('close', (reason) => end({ ok: false, closed: reason }));
  });
}

/** Socket.IO's own event names, which neither side lets through as events. */
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

const binary = fc.uint8Array({ maxLength: 4096 }).map((bytes) => Buffer.from(bytes));
const oddNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, -Number.MAX_VALUE, 1e308, -1, 0, 0.5, 2 ** 53 + 1, 86_400_001),
);
const junk: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 300 }),
    oddNumber,
    fc.boolean(),
    fc.constant(null),
    binary,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Payloads near each event's schema, with one part wrong (or right), and anything at all. */
const leasePayload = fc.oneof(
  fc.record({ slots: fc.oneof(oddNumber, junk), workers: fc.option(fc.oneof(oddNumber, junk), { nil: undefined }), cached: fc.option(fc.oneof(fc.array(fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), junk), { maxLength: 300 }), junk), { nil: undefined }) }, { requiredKeys: [] }),
  junk,
);
const resultPayload = fc.oneof(
  fc.record({ leaseId: fc.oneof(fc.string({ maxLength: 200 }), junk), output: fc.oneof(binary, junk), cpuMs: fc.oneof(oddNumber, junk) }, { requiredKeys: [] }),
  junk,
);
const failPayload = fc.oneof(
  fc.record({ leaseId: fc.oneof(fc.string({ maxLength: 200 }), junk), kind: fc.oneof(fc.constantFrom('trap', 'timeout', 'memory', 'invalid', 'crash'), junk), message: fc.oneof(fc.string({ maxLength: 3000 }), junk) }, { requiredKeys: [] }),
  junk,
);
const unknownEvent = fc.string({ minLength: 1, maxLength: 40 }).filter((name) => !RESERVED.has(name) && !['lease', 'result', 'fail'].includes(name));

/** One emitted event: a name and its arguments (zero, one or several: wrong arities too). */
const emission = fc.oneof(
  fc.tuple(fc.constant('lease'), fc.array(leasePayload, { minLength: 0, maxLength: 3 })),
  fc.tuple(fc.constant('result'), fc.array(resultPayload, { minLength: 0, maxLength: 3 })),
  fc.tuple(fc.constant('fail'), fc.array(failPayload, { minLength: 0, maxLength: 3 })),
  fc.tuple(unknownEvent, fc.array(junk, { minLength: 0, maxLength: 3 })),
);

const CODES = Object.keys(ERROR_STATUS);

function wellFormedAnswer(event: string, reply: unknown): boolean {
  if (typeof reply !== 'object' || reply === null) return false;
  if ('error' in reply) {
    const error = (reply as { error: { code?: unknown; message?: unknown } }).error;
    return CODES.includes(String(error.code)) && typeof error.message === 'string' && error.message.length > 0;
  }
  if (event === 'lease') return Array.isArray((reply as { leases?: unknown }).leases);
  return (reply as { ok?: unknown }).ok === true;
}

describe('/volunteer fuzzing', () => {
  it('acknowledges every event, whatever its payload, keeps the connection and stores nothing', async () => {
    const client = open({ siteKey, volunteerId: 'fuzzing-volunteer-0001', agent: 'node' });
    expect(await connection(client)).toEqual({ ok: true });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(emission, { minLength: 1, maxLength: 4 }), async (emissions) => {
          for (const [event, args] of emissions) {
            const reply: unknown = await client.timeout(5000).emitWithAck(event, ...args);
            if (!wellFormedAnswer(event, reply)) throw new Error(`${event}: ${JSON.stringify(reply)}`);
          }
          if (!client.connected) throw new Error('the connection was closed');
        }),
        { numRuns: 400 },
      );
    } finally {
      client.disconnect();
    }
    expect((await c.app.inject({ method: 'GET', url: '/api/v1/health' })).statusCode).toBe(200);
    const status = (await c.api('GET', `/jobs/${jobId}`)).json();
    expect(status.counts).toMatchObject({ completed: 0, failed: 0 });
    const results = (await c.api('GET', `/jobs/${jobId}/results`)).body.trim();
    // Leases granted to valid lease requests are released on disconnect; nothing else is recorded.
    for (const line of results === '' ? [] : results.split('\n')) {
      const parsed = JSON.parse(line) as { output: unknown; errors?: { kind: string }[] };
      expect(parsed.output ?? null).toBeNull();
      expect((parsed.errors ?? []).filter((error) => error.kind !== 'released')).toEqual([]);
    }
    expect(c.volunteers.heldResultBytes()).toBe(0);
  });

  it('answers every handshake auth with a connection or a coded refusal, and stays healthy', async () => {
    const auth = fc.oneof(
      fc.record(
        {
          siteKey: fc.oneof(fc.constant(siteKey), fc.string({ maxLength: 200 }), junk),
          volunteerId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{8,128}$/), fc.string({ maxLength: 200 }), junk),
          agent: fc.oneof(fc.constantFrom('browser', 'node'), junk),
          resumes: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.string({ maxLength: 100 }), junk),
          holding: fc.oneof(fc.array(fc.string({ minLength: 1, maxLength: 40 }), { maxLength: 300 }), junk),
          extra: junk,
        },
        { requiredKeys: [] },
      ),
      junk,
    );
    await fc.assert(
      fc.asyncProperty(auth, async (sent) => {
        const client = open(sent);
        try {
          const outcome = await connection(client);
          if ('silent' in outcome) throw new Error('the handshake was neither answered nor closed');
          if ('message' in outcome) {
            // Refused by the namespace with a coded error, or by Socket.IO itself.
            const data = outcome.data as { error?: { code?: string } } | undefined;
            if (data !== undefined && !CODES.includes(String(data.error?.code))) throw new Error(`uncoded refusal ${JSON.stringify(data)}`);
            if (outcome.message.length === 0) throw new Error('a refusal without a message');
          }
          // 'closed': an auth that is not an object makes a malformed CONNECT packet, which
          // Socket.IO answers by closing the connection.
        } finally {
          client.disconnect();
        }
      }),
      { numRuns: 150 },
    );
    expect((await c.app.inject({ method: 'GET', url: '/api/v1/health' })).statusCode).toBe(200);
  });
});
