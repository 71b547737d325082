/** Renders the benchmark figures as docs/benchmarks.md. */
import type { Machine } from './machine.ts';

export interface Figure {
  name: string;
  unit: string;
  value: number;
  detail: Record<string, number | null>;
}

const row = (figure: Figure): string =>
  `| ${figure.name} | ${figure.value} ${figure.unit} | ${Object.entries(figure.detail)
    .map(([key, value]) => `${key}: ${value ?? 'n/a'}`)
    .join(', ')} |`;

function explain(figures: Figure[]): string[] {
  const lines: string[] = [];
  const grid = figures.find((figure) => figure.name === 'grid-vs-native');
  if (grid) {
    lines.push(
      `- **Grid versus native.** With ${grid.detail['workers']} workers the grid took ${grid.value}× the native time ` +
        `(${grid.detail['gridWallMs']} ms against ${grid.detail['nativeWallMs']} ms for ${grid.detail['tasks']} tasks of ` +
        `~${grid.detail['taskMsNative']} ms). Of that, ${grid.detail['startLatencyMs']} ms passed before the first ` +
        'lease: an idle volunteer asks for work again after a backoff of 0.5–2 s, so a job that arrives while it ' +
        `waits starts late. After that the grid ran at ${grid.detail['steadyStateRatio']}× native, ` +
        `${grid.detail['overheadPerTaskMs']} ms per task per worker. ` +
        'Each task costs one lease round trip (the worker idles while the runtime asks for the next lease), a ' +
        'fresh wasm instance, a structured-clone hop to the worker and back, one SQLite transaction for the claim and ' +
        'one for the result; on a 2-core machine the coordinator, the frame\'s main thread and the browser ' +
        'processes also take CPU from the two workers. Prefetching leases (the scheduler issue) hides the round trip.',
    );
  }
  const throughput = figures.find((figure) => figure.name === 'results-per-second');
  if (throughput) {
    lines.push(
      `- **Coordinator throughput.** ${throughput.value} accepted results/s with ${throughput.detail['volunteers']} ` +
        `volunteers on tiny tasks; the coordinator spent ${throughput.detail['coordinatorCpuMsPerResult']} ms of CPU ` +
        `per result (${throughput.detail['coordinatorCpuShare']} of a core while the job ran). The rest of the machine ` +
        'was the 50 volunteers\' event loop in the benchmark process. Per result the coordinator validates two ' +
        'socket payloads, runs a claim and a completion transaction (each a handful of statements on SQLite in WAL ' +
        'mode) and counts the job\'s tasks to see whether it finished.',
    );
  }
  return lines;
}

export function renderReport(machine: Machine, figures: Figure[], when: Date): string {
  return [
    '# Benchmarks',
    '',
    'Written by `npm run bench`; each run overwrites it. Ratios compare figures measured in the same run.',
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}; ` +
      `${machine.chromium}. Run on ${when.toISOString().slice(0, 10)}.`,
    '',
    '| figure | value | detail |',
    '| --- | --- | --- |',
    ...figures.map(row),
    '',
    '## Where the time goes',
    '',
    ...explain(figures),
    '',
  ].join('\n');
}
