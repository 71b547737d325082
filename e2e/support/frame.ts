/** Helpers to drive the embed's frame and watch what a page downloads. */
import type { BrowserContext, FrameLocator, Page } from '@playwright/test';
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

/** Paths that only a started runtime requests: the socket, modules, the worker's script. */
export const isRuntimeTraffic = (path: string): boolean =>
  path.startsWith('/socket.io') || path.startsWith('/modules/');
