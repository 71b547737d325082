/**
 * Shows the progress line: on a terminal one line redrawn in place, elsewhere (a log, CI) a plain
 * line every few seconds so the log stays readable.
 */

export interface LineOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressRenderer {
  /** Shows `line` (on a terminal now; otherwise when the last printed line is old enough). */
  update(line: string): void;
  /** Removes the redrawn line so other output can be printed. */
  clear(): void;
  /** Prints the final line for good. */
  done(line: string): void;
}

/** Plain lines are printed at most this often when the output is not a terminal. */
export const PLAIN_INTERVAL_MS = 5_000;

export function createRenderer(output: LineOutput, now: () => number = Date.now, plainIntervalMs = PLAIN_INTERVAL_MS): ProgressRenderer {
  const tty = output.isTTY === true;
  let shown = false;
  let lastPlain = -Infinity;
  const fit = (line: string): string => {
    // A line longer than the terminal wraps, and `\r` then redraws only its last row.
    const width = (output.columns ?? 80) - 1;
    return line.length > width ? `${line.slice(0, width - 1)}…` : line;
  };
  return {
    update(line) {
      if (tty) {
        output.write(`\r${fit(line)}\x1b[K`);
        shown = true;
      } else if (now() - lastPlain >= plainIntervalMs) {
        lastPlain = now();
        output.write(`${line}\n`);
      }
    },
    clear() {
      if (tty && shown) output.write('\r\x1b[K');
      shown = false;
    },
    done(line) {
      if (tty && shown) output.write('\r\x1b[K');
      shown = false;
      output.write(`${line}\n`);
    },
  };
}
