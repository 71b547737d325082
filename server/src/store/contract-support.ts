/** What every Store contract suite needs: stores opened for a test are closed after it. */
import { afterEach } from 'vitest';
import type { Store } from './store.ts';

/** Call inside a `describe`: returns an opener whose stores are closed after each test. */
export function closedAfterEach(open: () => Promise<Store>): () => Promise<Store> {
  const opened: Store[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  return async () => {
    const store = await open();
    opened.push(store);
    return store;
  };
}
