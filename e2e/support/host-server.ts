/**
 * Host pages for the end-to-end tests: an ordinary site on another origin whose only sparecycles
 * code is the one-line snippet, served under a strict CSP that allows the coordinator for scripts
 * and frames and nothing else. Listens on the registered and on a never-registered origin.
 */
import { createServer } from 'node:http';
import { E2E } from './ports.ts';

function hostPage(siteKey: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>A host page</title></head>
<body>
  <h1>An ordinary page</h1>
  <p>It embeds sparecycles with one line.</p>
  <script src="${E2E.coordinator}/embed.js" data-site="${siteKey}" async></script>
</body>
</html>`;
}

const csp = `default-src 'self'; script-src 'self' ${E2E.coordinator}; frame-src ${E2E.coordinator}`;

for (const port of [E2E.hostPort, E2E.strangerPort]) {
  createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://localhost:${port}`);
    if (url.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const site = url.searchParams.get('site') ?? '';
    if (url.pathname !== '/' || !/^[A-Za-z0-9_-]+$/.test(site)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp })
      .end(hostPage(site));
  }).listen(port, 'localhost');
}
