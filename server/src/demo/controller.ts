/**
 * The demo's backend logic: makes sure the demo site, module and job exist (remembered in
 * DATA_DIR across restarts), follows the job's results through the REST API and hands the page the
 * tiles it has not drawn yet; "new job" re-seeds with another scene.
 */
import type { JobStatus, TaskCounts } from '../protocol/http.ts';
import type { CoordinatorClient } from './api-client.ts';
import { DEMO_SCENES, nextScene, sceneInputs, sceneTiles } from './scene.ts';
import { readDemoState, writeDemoState, type DemoState } from './state.ts';
import { createTileTracker, type TileTracker } from './tracker.ts';

/** Results are re-read from the coordinator at most this often, however many pages poll. */
const REFRESH_MS = 400;
/** "New job" clicks closer together than this re-use the job just made. */
const NEW_JOB_COOLDOWN_MS = 2_000;

export interface DemoControllerDeps {
  client: CoordinatorClient;
  stateFile: string;
  /** The compiled mandelbrot module. */
  moduleBytes: Uint8Array;
  /** Origins the demo page is served on (the demo site's allowed origins). */
  origins: string[];
  now: () => number;
  random: () => number;
}

export interface DemoTile {
  seq: number;
  index: number;
  x: number;
  y: number;
  width: number;
  height: number;
  counts: string;
}

/** What the page polls: the current job, its progress, and the tiles after the page's last one. */
export interface DemoProgress {
  jobId: string;
  scene: { name: string; width: number; height: number; maxIter: number };
  state: JobStatus['state'] | 'unknown';
  counts: TaskCounts | undefined;
  seq: number;
  tiles: DemoTile[];
}

export interface DemoController {
  readonly siteKey: string;
  /** The mandelbrot module, which the demo site's pages may also `run()` themselves (the zoom page). */
  readonly moduleHash: string;
  progress(jobId: string | undefined, after: number): Promise<DemoProgress>;
  newJob(): Promise<string>;
}

function sameOrigins(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((origin) => b.includes(origin));
}

export async function createDemoController(deps: DemoControllerDeps): Promise<DemoController> {
  const { client, now } = deps;
  const state: DemoState = await readDemoState(deps.stateFile);

  const known = state.siteKey ? await client.getSite(state.siteKey) : undefined;
  const siteKey = known && sameOrigins(known.origins, deps.origins)
    ? known.siteKey
    : (await client.createSite('sparecycles demo', deps.origins)).siteKey;
  const moduleHash = (await client.uploadModule(deps.moduleBytes)).hash;
  // The zoom page renders its views through run(): the site allows the module, at the most calls
  // a visitor may make (a view is 24 tiles).
  await client.updateSite(siteKey, { settings: { runModules: [moduleHash], runPerMinute: 600 } });

  let scene = DEMO_SCENES[state.scene] ? state.scene : 0;
  let status = state.jobId ? await client.getJob(state.jobId) : undefined;
  if (!status || status.state !== 'active' || status.module !== moduleHash) {
    if (status) scene = nextScene(scene, deps.random);
    status = await client.createJob({ module: moduleHash, inputs: sceneInputs(scene), title: `demo: ${DEMO_SCENES[scene]!.name}` });
  }
  await writeDemoState(deps.stateFile, { siteKey, jobId: status.id, scene });

  let tracker: TileTracker = createTileTracker(status.id);
  let tiles = sceneTiles(scene);
  let lastRefresh = -Infinity;
  let refreshing: Promise<void> | undefined;
  let lastNewJob = -Infinity;
  let creating: Promise<string> | undefined;

  async function refresh(): Promise<void> {
    const jobId = tracker.jobId;
    const [job, lines] = await Promise.all([client.getJob(jobId), client.results(jobId)]);
    if (tracker.jobId !== jobId) return;
    status = job;
    tracker.absorb(lines);
  }

  async function newJob(): Promise<string> {
    if (creating) return creating;
    if (now() - lastNewJob < NEW_JOB_COOLDOWN_MS) return tracker.jobId;
    creating = (async () => {
      const previous = tracker.jobId;
      const next = nextScene(scene, deps.random);
      const created = await client.createJob({ module: moduleHash, inputs: sceneInputs(next), title: `demo: ${DEMO_SCENES[next]!.name}` });
      await client.cancel(previous).catch(() => undefined);
      scene = next;
      tiles = sceneTiles(next);
      status = created;
      tracker = createTileTracker(created.id);
      lastNewJob = now();
      await writeDemoState(deps.stateFile, { siteKey, jobId: created.id, scene });
      return created.id;
    })().finally(() => {
      creating = undefined;
    });
    return creating;
  }

  return {
    siteKey,
    moduleHash,
    async progress(jobId, after) {
      if (now() - lastRefresh >= REFRESH_MS && !refreshing) {
        lastRefresh = now();
        refreshing = refresh().finally(() => {
          refreshing = undefined;
        });
      }
      if (refreshing) await refreshing;
      const current = DEMO_SCENES[scene]!;
      const from = jobId === tracker.jobId ? after : 0;
      return {
        jobId: tracker.jobId,
        scene: { name: current.name, width: current.view.width, height: current.view.height, maxIter: current.view.maxIter },
        state: status?.state ?? 'unknown',
        counts: status?.counts,
        seq: tracker.seq,
        tiles: tracker.since(from).flatMap((tile) => {
          const place = tiles[tile.index];
          return place ? [{ ...tile, x: place.x, y: place.y, width: place.width, height: place.height }] : [];
        }),
      };
    },
    newJob,
  };
}
