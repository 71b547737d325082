/** The demo host page: an ordinary site whose only sparecycles code is the one-line snippet. */

const escapeAttribute = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page's Content-Security-Policy: strict, with the coordinator allowed for scripts and frames. */
export function demoPageCsp(coordinatorUrl: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${coordinatorUrl}`,
    `frame-src ${coordinatorUrl}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The snippet a site owner pastes, for the demo pages. */
const embedTag = (coordinatorUrl: string, siteKey: string): string =>
  `<script src="${escapeAttribute(coordinatorUrl)}/embed.js" data-site="${escapeAttribute(siteKey)}" async></script>`;

/** The HTML of the demo page, embedding `siteKey` from `coordinatorUrl`. */
export function demoPage(coordinatorUrl: string, siteKey: string): string {
  const snippet = embedTag(coordinatorUrl, siteKey);
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>sparecycles demo — the Mandelbrot set, painted by visitors</title>
  <style>
    :root { color-scheme: dark; font-family: system-ui, sans-serif; background: #0b0d12; color: #e6e8ee; }
    body { margin: 0 auto; max-width: 820px; padding: 24px; }
    h1 { font-size: 1.5rem; margin: 0 0 4px; }
    p { line-height: 1.5; color: #b8bdc9; }
    canvas { display: block; width: 100%; max-width: 768px; aspect-ratio: 3 / 2; border-radius: 8px; background: #10131a; }
    .status { display: flex; gap: 12px; align-items: center; margin: 12px 0; }
    progress { flex: 1; height: 8px; accent-color: #f5a623; }
    button { font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid #3a4152; background: #1b2030; color: inherit; cursor: pointer; }
    button:disabled { opacity: 0.5; cursor: default; }
    code { color: #f5c46b; }
  </style>
</head>
<body>
  <h1>The Mandelbrot set, painted by this page's visitors</h1>
  <p>This is an ordinary page on its own origin. Its only sparecycles code is one line:
  <code>&lt;script src="…/embed.js" data-site="…" async&gt;&lt;/script&gt;</code>.
  Accept the banner to lend a little idle CPU: each 64×64 tile below is a WebAssembly task run in
  a visitor's browser and drawn as its result arrives.</p>
  <p>The page can also run its own work: <a href="/zoom">zoom into the set</a>, rendered through
  <code>sparecycles.run()</code>.</p>
  <p><strong id="scene">Loading…</strong></p>
  <div class="status">
    <progress id="bar" value="0" max="96"></progress>
    <span id="progress">Waiting for the first tiles…</span>
    <button id="new-job" type="button">New job</button>
  </div>
  <canvas id="image" width="768" height="512"></canvas>
  <script src="/demo.js" defer></script>
  ${snippet}
</body>
</html>
`;
}

/**
 * The zoom page: the visitor clicks to zoom in (shift-click or right-click to zoom out) and the page
 * renders each view as 24 tiles through its own `window.sparecycles.runDetailed()`, in the visitor's
 * pool when they share, on the grid otherwise, outlining each tile by where it ran.
 */
export function zoomPage(coordinatorUrl: string, siteKey: string, moduleHash: string): string {
  const snippet = embedTag(coordinatorUrl, siteKey);
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>sparecycles demo — zoom into the Mandelbrot set with the page's own run()</title>
  <style>
    :root { color-scheme: dark; font-family: system-ui, sans-serif; background: #0b0d12; color: #e6e8ee; }
    body { margin: 0 auto; max-width: 820px; padding: 24px; }
    h1 { font-size: 1.5rem; margin: 0 0 4px; }
    p { line-height: 1.5; color: #b8bdc9; }
    canvas { display: block; width: 100%; max-width: 768px; aspect-ratio: 3 / 2; border-radius: 8px; background: #10131a; cursor: zoom-in; }
    .here { color: #5fd38d; } .grid { color: #6fa8ff; }
    code { color: #f5c46b; }
  </style>
</head>
<body>
  <h1>Zoom into the set: the page's own work</h1>
  <p>Click the image to zoom in (shift-click to zoom out). This page renders each view itself with
  <code>sparecycles.run(module, tile)</code>: each 128×128 tile runs in <span class="here">your own
  browser's pool</span> if you share, or <span class="grid">on the grid</span> otherwise, and is
  outlined by where it ran. <a href="/">Back to the shared job</a>.</p>
  <p id="status" data-here="0" data-grid="0" data-failed="0" data-views="0">Waiting for the first view…</p>
  <canvas id="image" width="768" height="512" data-module="${escapeAttribute(moduleHash)}"></canvas>
  <script src="/zoom.js" defer></script>
  ${snippet}
</body>
</html>
`;
}
