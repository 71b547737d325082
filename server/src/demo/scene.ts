/**
 * What the demo computes: a few well-known views of the Mandelbrot set, each split into 64x64 tiles
 * of a 768x512 image (96 tasks). Pure: the random pick is injected.
 */
import { encodeTile, tilesFor, type PlacedTile, type View } from '../../../wasm/tasks/mandelbrot/codec.ts';

export const DEMO_WIDTH = 768;
export const DEMO_HEIGHT = 512;
export const DEMO_TILE = 64;

export interface DemoScene {
  name: string;
  view: View;
}

const scene = (name: string, centerX: number, centerY: number, spanX: number, maxIter: number): DemoScene => ({
  name,
  view: { centerX, centerY, width: DEMO_WIDTH, height: DEMO_HEIGHT, scale: spanX / DEMO_WIDTH, tile: DEMO_TILE, maxIter },
});

/** The first scene is the whole set; "new job" picks another one. */
export const DEMO_SCENES: readonly DemoScene[] = [
  scene('The whole set', -0.75, 0, 3.3, 2000),
  scene('Seahorse valley', -0.7436438870371587, 0.1318259042053119, 0.0042, 3000),
  scene('Elephant valley', 0.2855, 0.0115, 0.03, 2500),
  scene('Double spiral', -0.7615740, -0.0847596, 0.0035, 3000),
  scene('Triple spiral', -0.0883, 0.6549, 0.012, 3000),
  scene('Mini Mandelbrot', -1.7685, 0.0015, 0.015, 2500),
];

/** A scene other than `current`, chosen with `random` (a number in [0, 1)). */
export function nextScene(current: number, random: () => number): number {
  const others = DEMO_SCENES.map((_, index) => index).filter((index) => index !== current);
  return others[Math.min(others.length - 1, Math.floor(random() * others.length))] ?? 0;
}

/** The tiles of a scene, in job input order. */
export function sceneTiles(index: number): PlacedTile[] {
  const chosen = DEMO_SCENES[index] ?? DEMO_SCENES[0]!;
  return tilesFor(chosen.view);
}

/** The job inputs of a scene, one per tile. */
export function sceneInputs(index: number): Uint8Array[] {
  return sceneTiles(index).map((tile) => encodeTile(tile));
}
