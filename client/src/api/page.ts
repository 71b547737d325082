/**
 * The host page's API behind `window.sparecycles`, loaded on first use as `api.js` from the
 * coordinator (the loader stays small): sends the page's requests to the frame and settles each
 * `run()` promise from the frame's answer. Answers are taken only from the loader's own frame, on
 * the coordinator's origin, and only in the shapes `protocol.ts` accepts.
 */
import { MAX_RUN_INPUT_BYTES, parseFrameReply, parseRunOptions, type RanOn, type RunError, type RunOptions } from './protocol.ts';

const MODULE_HASH = /^[0-9a-f]{64}$/;

/** A run's output and where it ran. */
export interface RunReport {
  output: Uint8Array;
  ranOn: RanOn;
}

/** What `api.js` adds behind the loader's stubs. */
export interface PageApi {
  run(module: string, input: Uint8Array, options?: RunOptions): Promise<Uint8Array>;
  runDetailed(module: string, input: Uint8Array, options?: RunOptions): Promise<RunReport>;
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/** The error a `run()` promise rejects with: an `Error` carrying the coded reason. */
export class SpareCyclesError extends Error implements RunError {
  readonly code: RunError['code'];
  constructor(error: RunError) {
    super(error.message);
    this.name = 'SpareCyclesError';
    this.code = error.code;
  }
}

/** Extra time the page waits past a run's own limit before giving up on the frame's answer. */
const GRACE_MS = 5_000;
/** How long `pause()` and `resume()` wait for the frame to load. */
const FRAME_WAIT_MS = 10_000;

/** The API for the loader's frame; `events` is `window.sparecycles` (it gets `stats` events). */
export function createPageApi(frame: HTMLIFrameElement, origin: string, events: EventTarget & { state?: string }): PageApi {
  const pending = new Map<number, { resolve(report: RunReport): void; reject(error: SpareCyclesError): void }>();
  let next = 0;
  // The frame answers once it has loaded: it posts its first state then.
  const ready = new Promise<void>((resolve) => {
    if (events.state) resolve();
    else events.addEventListener('state', () => resolve(), { once: true });
  });

  addEventListener('message', (event: MessageEvent) => {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    const reply = parseFrameReply(event.data);
    if (!reply) return;
    if (reply.type === 'sparecycles:stats') {
      events.dispatchEvent(new CustomEvent('stats', { detail: reply.stats }));
      return;
    }
    const waiting = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.type === 'sparecycles:ran') waiting?.resolve({ output: reply.output, ranOn: reply.ranOn });
    else waiting?.reject(new SpareCyclesError(reply.error));
  });

  const post = async (message: object, transfer: Transferable[] = []): Promise<void> => {
    await ready;
    frame.contentWindow?.postMessage(message, origin, transfer);
  };
  /** `pause()` and `resume()` wait for the frame, but not for ever (it may be refused on this page). */
  const postSoon = async (message: object): Promise<void> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unavailable = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new SpareCyclesError({ code: 'unavailable', message: `the frame did not load within ${FRAME_WAIT_MS} ms` })), FRAME_WAIT_MS);
    });
    try {
      await Promise.race([post(message), unavailable]);
    } finally {
      clearTimeout(timer);
    }
  };

  async function runDetailed(module: string, input: Uint8Array, options?: RunOptions): Promise<RunReport> {
    const parsed = parseRunOptions(options);
    if (typeof module !== 'string' || !(input instanceof Uint8Array) || !parsed) {
      throw new SpareCyclesError({ code: 'bad_request', message: 'run(module: string, input: Uint8Array, options?) was called with something else' });
    }
    // What the frame would drop unread is refused here, at once, rather than by a timeout.
    if (!MODULE_HASH.test(module)) {
      throw new SpareCyclesError({ code: 'bad_request', message: `module must be a module's SHA-256 as 64 lowercase hex digits, got "${module.slice(0, 80)}"` });
    }
    if (input.byteLength > MAX_RUN_INPUT_BYTES) {
      throw new SpareCyclesError({ code: 'payload_too_large', message: `input is ${input.byteLength} bytes; run() takes at most ${MAX_RUN_INPUT_BYTES}` });
    }
    const id = next++;
    // A copy is transferred: the caller keeps its own bytes.
    const copy = input.slice();
    return new Promise<RunReport>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new SpareCyclesError({ code: 'timeout', message: `no answer within ${parsed.timeoutMs} ms` }));
      }, parsed.timeoutMs + GRACE_MS);
      const settle = <T>(action: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        action(value);
      };
      pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      void post({ type: 'sparecycles:run', id, module, input: copy, options: parsed }, [copy.buffer]);
    });
  }

  return {
    runDetailed,
    run: async (module, input, options) => (await runDetailed(module, input, options)).output,
    pause: () => postSoon({ type: 'sparecycles:pause' }),
    resume: () => postSoon({ type: 'sparecycles:resume' }),
  };
}
