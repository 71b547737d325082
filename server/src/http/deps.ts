/** What the HTTP app needs from the rest of the coordinator, injected by `main.ts` or a test. */
import type { Limits } from '../config.ts';
import type { JobEvents } from '../jobs/index.ts';
import type { Store } from '../store/index.ts';

/** The part of the scheduler the REST API drives (new work wakes idle volunteers; cancelling revokes live leases). */
export interface JobScheduler {
  cancel(jobId: string): Promise<boolean>;
  workAdded(jobId: string): void;
}

export interface AppDeps {
  store: Store;
  scheduler: JobScheduler;
  /** Wakes result streams that follow a job (the scheduler notifies it as tasks settle). */
  jobEvents: JobEvents;
  now: () => number;
  /** New job ids. */
  newId: () => string;
  /** New public site keys. */
  newSiteKey: () => string;
  /** New scoped keys: a public id and a secret. */
  newApiKey: () => { id: string; secret: string };
  /** Volunteer connections this coordinator holds now (`GET /grid`). */
  volunteersOnline: () => number;
  config: {
    adminKey: string;
    /** The coordinator's public origin (no trailing slash). */
    publicUrl: string;
    /** Who runs this coordinator, as the frame names it to visitors. */
    operatorName: string;
    limits: Limits;
    /** Where the client build lives (`embed.js`, `frame.html`, `assets/`). */
    clientDir: string;
  };
  /** A pino logger options object (a `stream` to write lines to, in tests), or false (the default) for none. */
  logger?: boolean | { level: string; stream?: { write(line: string): void } };
  /** Log every request (noisy; off by default). */
  logRequests?: boolean;
  /** False while shutting down: health answers 503. */
  isReady?: () => boolean;
}
