/**
 * The durable outbox in a real browser: what a previous page of the site left unacknowledged in
 * IndexedDB is loaded by the next page's runtime, sent over its socket (binary output as binary,
 * byte for byte), and removed once the coordinator has answered for it.
 */
import { expect, test } from '@playwright/test';
import { createSite, hostPageUrl } from './support/api.ts';
import { embedFrame, allowSharing } from './support/frame.ts';
import { createVersion1Db, describeRuntimeDb, frameOf, holdVersion1Db, putOutboxEntries, readOutbox, recordSocketFrames, waitForRuntimeDb, type RawOutboxEntry } from './support/outbox.ts';
import { E2E } from './support/ports.ts';

let siteKey = '';

test.beforeAll(async () => {
  siteKey = await createSite([E2E.hostOrigin]);
});

/** Every byte value a careless encoding could mangle: NUL, high bits, 0xFF, and a run of all 256. */
const OUTPUT = [0, 1, 2, 127, 128, 254, 255, 0, ...Array.from({ length: 256 }, (_, i) => i)];

/** Socket.IO's text frame for an acknowledged event: `4` + type (`2` event, `5` binary event) + attachments + `/volunteer,` + ack id + JSON. */
function eventFrame(frames: (string | Buffer)[], event: string, leaseId?: string): { index: number; ackId: string } | undefined {
  for (const [index, frame] of frames.entries()) {
    if (typeof frame !== 'string') continue;
    const match = /^4[25](?:\d+-)?\/volunteer,(\d+)(\[.*)$/s.exec(frame);
    if (!match) continue;
    const [name, payload] = JSON.parse(match[2] as string) as [string, { leaseId?: string }];
    if (name === event && (leaseId === undefined || payload.leaseId === leaseId)) return { index, ackId: match[1] as string };
  }
  return undefined;
}

/** The acknowledgement the coordinator sent for `ackId`, parsed. */
function ackFor(frames: (string | Buffer)[], ackId: string): unknown {
  for (const frame of frames) {
    if (typeof frame !== 'string') continue;
    const match = /^4[36](?:\d+-)?\/volunteer,(\d+)(\[.*)$/s.exec(frame);
    if (match?.[1] === ackId) return (JSON.parse(match[2] as string) as unknown[])[0];
  }
  return undefined;
}

test('a result and a failure left in IndexedDB by a previous page are sent after a reload, then removed', async ({ page }) => {
  const frames = recordSocketFrames(page);
  await page.goto(hostPageUrl(siteKey));
  await allowSharing(page);
  const first = await frameOf(page);
  // The runtime opened (and so created or upgraded) its database: the outbox store exists.
  await waitForRuntimeDb(first, 2);
  // And it connected: its first `lease` request follows the on-connect outbox listing, so this
  // page's runtime has already read its (empty) outbox and will not send what we put next.
  await expect.poll(() => frames.sockets.some((socket) => eventFrame(socket.sent, 'lease'))).toBe(true);

  // Lease ids the coordinator never issued, as a page that crashed before its answer would leave them.
  const resultId = `left-by-a-previous-page-${Date.now()}`;
  const failId = `${resultId}-failed`;
  const entries: RawOutboxEntry[] = [
    { kind: 'result', payload: { leaseId: resultId, output: OUTPUT, cpuMs: 42 } },
    { kind: 'fail', payload: { leaseId: failId, kind: 'trap', message: 'unreachable executed' } },
  ];
  await putOutboxEntries(first, entries);

  // IndexedDB keeps binary as binary: a Uint8Array of the same bytes comes back.
  const stored = await readOutbox(first);
  expect(stored).toContainEqual({ kind: 'result', leaseId: resultId, outputType: '[object Uint8Array]', output: OUTPUT });
  expect(stored).toContainEqual({ kind: 'fail', leaseId: failId });
  const socketsBefore = frames.sockets.length;
  expect(socketsBefore).toBeGreaterThan(0);

  await page.reload();
  const frame = embedFrame(page);
  // The choice was remembered: the runtime starts again without a banner.
  await expect(frame.locator('body')).toHaveAttribute('data-state', 'accepted');
  const second = await frameOf(page);

  // Gone from the store once the coordinator answered for both...
  await expect.poll(async () => (await readOutbox(second)).map((entry) => entry.leaseId), { timeout: 30_000 }).toEqual([]);

  // ...because the new page's socket sent them, the output as one binary attachment of exactly
  // those bytes, and the coordinator answered `stale_lease` (it never issued these leases).
  const before = frames.sockets.slice(0, socketsBefore);
  expect(before.filter((entry) => eventFrame(entry.sent, 'result', resultId)), 'the first page sent nothing of it').toEqual([]);
  const socket = frames.sockets.slice(socketsBefore).find((entry) => eventFrame(entry.sent, 'result', resultId));
  expect(socket, 'a socket opened after the reload sent the result').toBeDefined();
  const result = eventFrame(socket?.sent ?? [], 'result', resultId);
  const attachment = socket?.sent[(result?.index ?? -2) + 1];
  expect(Buffer.isBuffer(attachment)).toBe(true);
  expect([...(attachment as Buffer)]).toEqual(OUTPUT);
  const fail = eventFrame(socket?.sent ?? [], 'fail', failId);
  expect(fail).toBeDefined();
  await expect.poll(() => ackFor(socket?.received ?? [], result?.ackId ?? '')).toMatchObject({ error: { code: 'stale_lease' } });
  await expect.poll(() => ackFor(socket?.received ?? [], fail?.ackId ?? '')).toMatchObject({ error: { code: 'stale_lease' } });

  // Sent once, not once per flush.
  const sentResults = (socket?.sent ?? []).filter((text) => typeof text === 'string' && text.includes(resultId) && text.includes('"result"'));
  expect(sentResults).toHaveLength(1);
});

test('a version-1 database upgrades in place: the volunteer keeps its id and gains the outbox', async ({ page }) => {
  const frames = recordSocketFrames(page);
  await page.goto(hostPageUrl(siteKey));
  const allow = embedFrame(page).getByRole('button', { name: 'Allow' });
  await expect(allow).toBeVisible();
  // Before consent nothing has opened the database: leave it as the previous release did.
  const frame = await frameOf(page);
  const volunteerId = `v1-volunteer-${Date.now()}`;
  await createVersion1Db(frame, volunteerId);

  await allowSharing(page);
  await waitForRuntimeDb(frame, 2);
  expect(await describeRuntimeDb(frame)).toEqual({ version: 2, stores: ['meta', 'modules', 'outbox'], volunteerId });
  // The runtime connected as the same volunteer.
  await expect
    .poll(() => frames.sockets.some((socket) => socket.sent.some((text) => typeof text === 'string' && text.startsWith('40/volunteer,') && text.includes(volunteerId))))
    .toBe(true);
});

test('a version-1 page holding the database open in another tab does not stop the runtime', async ({ context }) => {
  const old = await context.newPage();
  await old.goto(hostPageUrl(siteKey));
  await holdVersion1Db(await frameOf(old));

  const page = await context.newPage();
  const frames = recordSocketFrames(page);
  await page.goto(hostPageUrl(siteKey));
  await allowSharing(page);
  // The upgrade is blocked; the runtime goes on without its database and asks for work.
  await expect.poll(() => frames.sockets.some((socket) => eventFrame(socket.sent, 'lease'))).toBe(true);
  await expect(embedFrame(page).locator('section.control')).toHaveAttribute('data-state', 'accepted');
  await expect(embedFrame(page).getByRole('alert')).toBeHidden();
});
