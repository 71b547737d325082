/** Helpers to drive the embed's frame and watch what a page downloads. */
import { expect, type BrowserContext, type FrameLocator, type Page } from '@playwright/test';
import { E2E } from './ports.ts';

export const FRAME_SELECTOR = 'iframe[src*="/frame?site="]';

export const embedFrame = (page: Page): FrameLocator => page.frameLocator(FRAME_SELECTOR);

/** Every request the context makes to the coordinator, plus every WebSocket any page opens. */
export interface NetworkLog {
  urls: string[];
  sockets: string[];
  /** Paths requested since `mark`. */
  since(mark: number): string[];
  mark(): number;
}

export function watchCoordinatorTraffic(context: BrowserContext): NetworkLog {
  const urls: string[] = [];
  const sockets: string[] = [];
  context.on('request', (request) => {
    if (request.url().startsWith(E2E.coordinator)) urls.push(new URL(request.url()).pathname + new URL(request.url()).search);
  });
  const watchPage = (page: Page): void => {
    page.on('websocket', (socket) => sockets.push(socket.url()));
  };
  context.pages().forEach(watchPage);
  context.on('page', watchPage);
  return {
    urls,
    sockets,
    mark: () => urls.length,
    since: (mark) => urls.slice(mark),
  };
}

/** Paths that only a started runtime requests: its chunk, the worker's script, the socket, modules. */
export const isRuntimeTraffic = (path: string): boolean =>
  path.startsWith('/socket.io') ||
  path.startsWith('/modules/') ||
  path.startsWith('/assets/runtime-') ||
  path.startsWith('/assets/worker-');

/** How long the banner must be fully visible before "Allow" counts (client/src/frame/gate.ts). */
const LOOK_MS = 1_000;

/**
 * Accepts the banner as a visitor does: looks at it for a moment, moves the pointer onto "Allow"
 * and clicks. A click with no pointer movement in the frame, or on a banner that has not been
 * visible long enough, does not count (the clickjacking gate).
 */
export async function allowSharing(page: Page, label = 'Allow'): Promise<void> {
  const allow = embedFrame(page).getByRole('button', { name: label });
  await allow.waitFor({ state: 'visible' });
  await expect(allow).toBeEnabled();
  // The frame settles to the banner's size (it may have just grown from the control's).
  await page.waitForTimeout(300);
  const box = await allow.boundingBox();
  if (!box) throw new Error('the Allow button has no box');
  const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await page.mouse.move(centre.x - 60, centre.y - 25);
  await page.waitForTimeout(LOOK_MS);
  await page.mouse.move(centre.x, centre.y, { steps: 6 });
  await page.waitForTimeout(200);
  await page.mouse.down();
  await page.mouse.up();
  await expect(embedFrame(page).locator('body')).toHaveAttribute('data-state', 'accepted');
}

/** Sets the share in the control (its Details section), as a visitor would. */
export async function chooseShare(page: Page, label: RegExp | string): Promise<void> {
  const frame = embedFrame(page);
  const details = frame.locator('details');
  if (!(await details.evaluate((element: HTMLDetailsElement) => element.open))) await frame.locator('summary').click();
  await frame.getByLabel(/Share|Part/).selectOption({ label: typeof label === 'string' ? label : (await matchingOption(page, label)) });
}

async function matchingOption(page: Page, label: RegExp): Promise<string> {
  const options = await embedFrame(page).locator('select option').allTextContents();
  const found = options.find((text) => label.test(text));
  if (!found) throw new Error(`no share option matches ${label}`);
  return found;
}
