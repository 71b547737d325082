import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { EMBED_BUDGET_GZIP_BYTES, sizeBudget } from '../../../vite.config.ts';

const configFile = fileURLToPath(new URL('../../../vite.config.ts', import.meta.url));
const dirs: string[] = [];

async function buildEmbed(extra: Parameters<typeof build>[0] = {}): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'sc-embed-'));
  dirs.push(outDir);
  await build({ configFile, mode: 'embed', logLevel: 'silent', ...extra, build: { outDir } });
  return readFile(join(outDir, 'embed.js'), 'utf8');
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('the embed loader build', () => {
  it(`stays under ${EMBED_BUDGET_GZIP_BYTES} bytes gzipped, as one self-contained script`, async () => {
    const code = await buildEmbed();
    const size = gzipSync(code, { level: 9 }).byteLength;
    expect(size).toBeLessThanOrEqual(EMBED_BUDGET_GZIP_BYTES);
    // Self-contained: no static imports or exports; the one dynamic import is the API's own code,
    // from the coordinator's origin, on the page's first call.
    expect(code).not.toMatch(/^\s*import\s|^\s*export\s/m);
    expect(code.match(/\bimport\s*\(/g) ?? []).toHaveLength(1);
    expect(code).toContain('/api.js');
    expect(code).toContain('currentScript');
    expect(code).toContain('/frame?site=');
  });

  it('fails the build loudly when over budget', async () => {
    await expect(buildEmbed({ plugins: [sizeBudget('embed.js', 100)] })).rejects.toThrow(/over the budget of 100 bytes/);
  });
});
