// The zoom page's own script: it renders the view the visitor chose through the page's own
// sparecycles API (window.sparecycles.runDetailed), tile by tile, and outlines each tile by where
// it ran: green in the visitor's own pool, blue on the grid.
(() => {
  const canvas = document.getElementById('image');
  const context = canvas.getContext('2d');
  const status = document.getElementById('status');
  const module = canvas.dataset.module;
  const WIDTH = 768;
  const HEIGHT = 512;
  const TILE = 128;
  const view = { centerX: -0.75, centerY: 0, scale: 3.3 / WIDTH, maxIter: 600 };
  let generation = 0;

  // The mandelbrot task's input (wasm/tasks/mandelbrot/codec.ts): f64 x0, y0, step; u32 width, height, maxIter.
  function encodeTile(x0, y0, step, width, height, maxIter) {
    const bytes = new Uint8Array(36);
    const data = new DataView(bytes.buffer);
    data.setFloat64(0, x0, true);
    data.setFloat64(8, y0, true);
    data.setFloat64(16, step, true);
    data.setUint32(24, width, true);
    data.setUint32(28, height, true);
    data.setUint32(32, maxIter, true);
    return bytes;
  }

  function colour(count, maxIter, out, at) {
    if (count >= maxIter) {
      out[at] = out[at + 1] = out[at + 2] = 0;
    } else {
      const t = Math.sqrt(count / maxIter);
      out[at] = 255 * Math.min(1, 3 * t);
      out[at + 1] = 255 * Math.min(1, Math.max(0, 3 * t - 1));
      out[at + 2] = 100 + 155 * Math.max(0, 1 - 2 * t);
    }
    out[at + 3] = 255;
  }

  async function render() {
    const mine = ++generation;
    const counts = { here: 0, grid: 0, failed: 0 };
    const tiles = [];
    for (let y = 0; y < HEIGHT; y += TILE) for (let x = 0; x < WIDTH; x += TILE) tiles.push({ x, y });
    const x0 = view.centerX - (WIDTH / 2) * view.scale;
    const y0 = view.centerY - (HEIGHT / 2) * view.scale;
    const show = () => {
      status.dataset.here = String(counts.here);
      status.dataset.grid = String(counts.grid);
      status.dataset.failed = String(counts.failed);
      const done = counts.here + counts.grid;
      status.textContent = `${done} of ${tiles.length} tiles: ${counts.here} in your browser, ${counts.grid} on the grid` +
        (counts.failed ? `, ${counts.failed} failed` : '') + (done + counts.failed === tiles.length ? ' — done' : '');
    };
    show();
    await Promise.all(
      tiles.map(async ({ x, y }) => {
        const input = encodeTile(x0 + x * view.scale, y0 + y * view.scale, view.scale, TILE, TILE, view.maxIter);
        try {
          const { output, ranOn } = await window.sparecycles.runDetailed(module, input, { timeoutMs: 60000 });
          if (mine !== generation) return;
          const image = context.createImageData(TILE, TILE);
          const data = new DataView(output.buffer, output.byteOffset, output.byteLength);
          for (let p = 0; p < TILE * TILE; p++) colour(data.getUint16(p * 2, true), view.maxIter, image.data, p * 4);
          context.putImageData(image, x, y);
          context.strokeStyle = ranOn === 'visitor' ? '#5fd38d' : '#6fa8ff';
          context.lineWidth = 2;
          context.strokeRect(x + 1, y + 1, TILE - 2, TILE - 2);
          counts[ranOn === 'visitor' ? 'here' : 'grid'] += 1;
        } catch (error) {
          if (mine !== generation) return;
          counts.failed += 1;
          status.title = `${error.code}: ${error.message}`;
        }
        show();
      }),
    );
    if (mine === generation) status.dataset.views = String(Number(status.dataset.views) + 1);
  }

  canvas.addEventListener('click', (event) => {
    const box = canvas.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * WIDTH;
    const py = ((event.clientY - box.top) / box.height) * HEIGHT;
    view.centerX += (px - WIDTH / 2) * view.scale;
    view.centerY += (py - HEIGHT / 2) * view.scale;
    view.scale *= event.shiftKey ? 2 : 0.5;
    view.maxIter = Math.min(4000, Math.round(600 + 120 * Math.log2(3.3 / WIDTH / view.scale)));
    void render();
  });

  // The loader defines window.sparecycles as soon as it runs (it is loaded async, after this script).
  const start = () => (window.sparecycles ? render() : setTimeout(start, 50));
  start();
})();
