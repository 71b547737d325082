/**
 * A stream that must keep moving: a body that sends nothing for `idleMs` is refused (a slowloris
 * producer would otherwise hold a request, and its half-staged inputs, open forever). A long
 * upload that keeps sending is never cut.
 */
import { CodedError } from '../protocol/errors.ts';

export async function* idleLimited<T>(source: AsyncIterable<T>, idleMs: number): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    for (;;) {
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CodedError('bad_request', `the body sent nothing for ${idleMs} ms; the request was ended (SPARECYCLES_STREAM_IDLE_MS)`)), idleMs);
      });
      const step = await Promise.race([iterator.next(), idle]);
      clearTimeout(timer);
      if (step.done) return;
      yield step.value;
    }
  } finally {
    clearTimeout(timer);
    // Not awaited: after a timeout a read is still pending, and `return` would wait for it.
    void iterator.return?.()?.catch(() => undefined);
  }
}
