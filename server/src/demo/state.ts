/** What the demo remembers across restarts, in `DATA_DIR/demo.json`: its site key and current job. */
import { readFile, rename, writeFile } from 'node:fs/promises';

export interface DemoState {
  siteKey?: string;
  jobId?: string;
  /** Index into DEMO_SCENES of the current job. */
  scene: number;
}

/** The remembered state; a missing or unreadable file is a fresh start. */
export async function readDemoState(file: string): Promise<DemoState> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<DemoState>;
    return {
      ...(typeof parsed.siteKey === 'string' ? { siteKey: parsed.siteKey } : {}),
      ...(typeof parsed.jobId === 'string' ? { jobId: parsed.jobId } : {}),
      scene: Number.isInteger(parsed.scene) ? (parsed.scene as number) : 0,
    };
  } catch {
    return { scene: 0 };
  }
}

/** Writes the state atomically (a crash leaves the old or the new file, never half of one). */
export async function writeDemoState(file: string, state: DemoState): Promise<void> {
  const temp = `${file}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temp, file);
}
