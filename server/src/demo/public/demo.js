// The demo page's own script: it knows nothing of sparecycles. It polls its own backend for the
// Mandelbrot tiles computed so far and paints them as they arrive.
(() => {
  const canvas = document.getElementById('image');
  const context = canvas.getContext('2d');
  const progressLine = document.getElementById('progress');
  const bar = document.getElementById('bar');
  const title = document.getElementById('scene');
  const button = document.getElementById('new-job');

  // Ultra Fractal's classic gradient, repeated along sqrt(count) so deep zooms keep their colour.
  const STOPS = [
    [0.0, [0, 7, 100]],
    [0.16, [32, 107, 203]],
    [0.42, [237, 255, 255]],
    [0.6425, [255, 170, 0]],
    [0.8575, [0, 2, 0]],
    [1.0, [0, 7, 100]],
  ];
  const PALETTE_SIZE = 2048;
  const palette = new Uint8ClampedArray(PALETTE_SIZE * 3);
  for (let i = 0; i < PALETTE_SIZE; i++) {
    const t = i / PALETTE_SIZE;
    let k = 0;
    while (k < STOPS.length - 2 && t > STOPS[k + 1][0]) k++;
    const [t0, c0] = STOPS[k];
    const [t1, c1] = STOPS[k + 1];
    // Smoothstep between stops: no visible kinks in the gradient.
    const u = (t - t0) / (t1 - t0);
    const s = u * u * (3 - 2 * u);
    for (let c = 0; c < 3; c++) palette[i * 3 + c] = c0[c] + (c1[c] - c0[c]) * s;
  }

  let jobId;
  let after = 0;
  let maxIter = 1;
  let period = 1;

  function colour(count, out, at) {
    if (count >= maxIter) {
      out[at] = out[at + 1] = out[at + 2] = 0;
    } else {
      const position = ((Math.sqrt(count) / period) % 1) * PALETTE_SIZE;
      const i = Math.floor(position);
      const j = (i + 1) % PALETTE_SIZE;
      const f = position - i;
      for (let c = 0; c < 3; c++) out[at + c] = palette[i * 3 + c] * (1 - f) + palette[j * 3 + c] * f;
    }
    out[at + 3] = 255;
  }

  function paint(tile) {
    const binary = atob(tile.counts);
    const image = context.createImageData(tile.width, tile.height);
    for (let p = 0; p < tile.width * tile.height; p++) {
      const count = binary.charCodeAt(p * 2) | (binary.charCodeAt(p * 2 + 1) << 8);
      colour(count, image.data, p * 4);
    }
    context.putImageData(image, tile.x, tile.y);
  }

  function show(progress) {
    if (progress.jobId !== jobId) {
      jobId = progress.jobId;
      after = 0;
      canvas.width = progress.scene.width;
      canvas.height = progress.scene.height;
      context.fillStyle = '#10131a';
      context.fillRect(0, 0, canvas.width, canvas.height);
      maxIter = progress.scene.maxIter;
      period = Math.max(4, Math.sqrt(maxIter) / 3);
      title.textContent = progress.scene.name;
    }
    for (const tile of progress.tiles) paint(tile);
    after = Math.max(after, progress.seq);
    const counts = progress.counts;
    if (counts) {
      const done = counts.completed;
      const extra = [];
      if (counts.running) extra.push(`${counts.running} running`);
      if (counts.failed) extra.push(`${counts.failed} failed`);
      if (counts.cancelled) extra.push(`${counts.cancelled} cancelled`);
      const state = progress.state === 'completed' ? ' — done' : progress.state === 'cancelled' ? ' — cancelled' : '';
      progressLine.textContent = `${done} of ${counts.total} tiles${extra.length ? ` (${extra.join(', ')})` : ''}${state}`;
      bar.value = done;
      bar.max = counts.total;
    }
  }

  async function poll() {
    try {
      const query = new URLSearchParams({ after: String(after) });
      if (jobId) query.set('job', jobId);
      const response = await fetch(`/api/progress?${query}`, { cache: 'no-store' });
      if (response.ok) show(await response.json());
      else progressLine.textContent = `The demo backend answered ${response.status}; retrying…`;
    } catch {
      progressLine.textContent = 'The demo backend is not reachable; retrying…';
    }
    setTimeout(poll, document.hidden ? 3000 : 700);
  }

  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await fetch('/api/new-job', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    } finally {
      setTimeout(() => (button.disabled = false), 2000);
    }
  });

  poll();
})();
