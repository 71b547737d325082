/** Test support for the stream readers: bytes cut into chunks anywhere, and collecting a stream. */
import fc from 'fast-check';

/** `bytes` cut at `cuts` (positions, any order, duplicates allowed: empty chunks too). */
export function cutAt(bytes: Uint8Array, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(Buffer.from(bytes.subarray(from, point)));
    from = point;
  }
  return chunks;
}

/** Cut positions: where a body is split into chunks. */
export const arbitraryCuts = fc.array(fc.nat(), { maxLength: 20 });

export async function* chunksOf(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** What a stream did: its items, or the coded error it threw (code and message). */
export async function outcomeOf<T>(items: AsyncIterable<T>): Promise<{ items: T[] } | { error: string }> {
  const out: T[] = [];
  try {
    for await (const item of items) out.push(item);
    return { items: out };
  } catch (error) {
    const coded = error as { code?: string; message?: string };
    return { error: `${coded.code}: ${coded.message}` };
  }
}

export { frameOf as frame } from '../http/stream-testing.ts';
