/** The e2e host pages: on the registered origin and on one that is never registered. */
import { serveHostPages } from './host-pages.ts';
import { E2E } from './ports.ts';

await serveHostPages(E2E.hostPort, E2E.coordinator);
await serveHostPages(E2E.strangerPort, E2E.coordinator);
