/**
 * Which tiles of the demo job the page has not drawn yet. Each completed tile gets a sequence number
 * the first time it is seen; the page asks for everything after the last number it drew. Pure data.
 */
import type { ResultLine } from '../protocol/http.ts';

export interface TrackedTile {
  seq: number;
  index: number;
  /** The task output: base64 of u16 LE escape counts, row major. */
  counts: string;
}

export interface TileTracker {
  readonly jobId: string;
  /** Highest sequence number handed out so far (0 = none). */
  readonly seq: number;
  /** Records every completed line not seen before. */
  absorb(lines: readonly ResultLine[]): void;
  /** Tiles with a sequence number above `after`, in that order. */
  since(after: number): TrackedTile[];
}

export function createTileTracker(jobId: string): TileTracker {
  const tiles: TrackedTile[] = [];
  const seen = new Set<number>();
  return {
    jobId,
    get seq() {
      return tiles.length;
    },
    absorb(lines) {
      for (const line of lines) {
        if (line.state !== 'completed' || line.output === undefined || seen.has(line.index)) continue;
        seen.add(line.index);
        tiles.push({ seq: tiles.length + 1, index: line.index, counts: line.output });
      }
    },
    since(after) {
      return tiles.slice(Math.max(0, Math.floor(after)));
    },
  };
}
