/**
 * A job's results as NDJSON lines, read from the store a page at a time:
 *   order `input`       every task in input order with its state now; with `follow`, only settled
 *                       tasks, each as soon as it and every task before it settled
 *   order `completion`  settled tasks (completed or failed) in the order they settled
 * With `follow` the stream stays open until the job ends (closed and settled, or cancelled): it
 * sleeps until the job's events wake it, then reads what it has not sent yet. It stops when
 * `signal` aborts (the client left).
 */
import type { ResultLine, TaskState } from '../protocol/http.ts';
import type { Store, TaskResult } from '../store/index.ts';
import { encodeBase64 } from '../protocol/base64.ts';
import type { JobEvents } from './events.ts';

/** Tasks read from the store per page. */
export const RESULTS_PAGE = 256;

export interface ResultOptions {
  order: 'input' | 'completion';
  follow: boolean;
  /** Add `text` beside `output` when the output is valid UTF-8. */
  text: boolean;
  /** Called each time a follower caught up and waits (e.g. to send the response headers now). */
  onWait?: () => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const SETTLED: readonly TaskState[] = ['completed', 'failed', 'cancelled'];

/** One NDJSON line's object. */
export function resultLine(task: TaskResult, withText = false): ResultLine {
  const line: ResultLine = { index: task.index, state: task.state };
  if (task.output !== undefined) {
    line.output = encodeBase64(task.output);
    if (withText) {
      try {
        line.text = utf8.decode(task.output);
      } catch {
        // Not UTF-8: `output` alone says it.
      }
    }
  }
  if (task.errors !== undefined && task.errors.length > 0) line.errors = task.errors;
  return line;
}

const toLine = (task: TaskResult, text: boolean): string => `${JSON.stringify(resultLine(task, text))}\n`;

/** Resolves at the job's next event (or at once if one came since the last call), or when `signal` aborts. */
function wakeups(events: JobEvents, jobId: string, signal: AbortSignal) {
  let pending = false;
  let wake: (() => void) | undefined;
  const dispose = events.subscribe(jobId, () => {
    pending = true;
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);
  return {
    async next(): Promise<void> {
      if (!pending && !signal.aborted) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      pending = false;
    },
    dispose(): void {
      dispose();
      signal.removeEventListener('abort', onAbort);
    },
  };
}

/** The result lines of a job (which must exist), as the options ask. */
export async function* resultLines(
  store: Store,
  events: JobEvents,
  jobId: string,
  options: ResultOptions,
  signal: AbortSignal,
  pageSize = RESULTS_PAGE,
): AsyncGenerator<string> {
  // Subscribed before the first read: nothing that settles after it goes unnoticed.
  const wake = options.follow ? wakeups(events, jobId, signal) : undefined;
  try {
    let nextIndex = 0;
    let afterSeq = 0;
    for (;;) {
      // Read before the tasks: when the job had ended then, the tasks read next are all there is.
      const ended = wake ? (await store.getJobState(jobId))?.state !== 'active' : true;
      for (;;) {
        if (signal.aborted) return;
        if (options.order === 'completion') {
          const page = await store.listSettled(jobId, afterSeq, pageSize);
          for (const task of page) yield toLine(task, options.text);
          afterSeq = page.at(-1)?.seq ?? afterSeq;
          if (page.length < pageSize) break;
        } else {
          const page = await store.listResults(jobId, nextIndex, pageSize);
          let blocked = false;
          for (const task of page) {
            // Following in input order: a task still open holds back the ones after it.
            if (wake && !SETTLED.includes(task.state)) {
              blocked = true;
              break;
            }
            yield toLine(task, options.text);
            nextIndex = task.index + 1;
          }
          if (blocked || page.length < pageSize) break;
        }
      }
      if (!wake || ended || signal.aborted) return;
      options.onWait?.();
      await wake.next();
    }
  } finally {
    wake?.dispose();
  }
}
