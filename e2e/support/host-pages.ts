/**
 * Host pages for browser tests and benchmarks: an ordinary site on another origin whose only
 * sparecycles code is the one-line snippet, served under a strict CSP that allows the coordinator
 * for scripts and frames and nothing else.
 */
import { createServer, type Server } from 'node:http';

function hostPage(coordinator: string, siteKey: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>A host page</title></head>
<body>
  <h1>An ordinary page</h1>
  <p>It embeds sparecycles with one line.</p>
  <script src="${coordinator}/embed.js" data-site="${siteKey}" async></script>
</body>
</html>`;
}

/** Serves `/?site=KEY` (the host page) and `/health` on `localhost:port`. */
export function serveHostPages(port: number, coordinator: string): Promise<Server> {
  const csp = `default-src 'self'; script-src 'self' ${coordinator}; frame-src ${coordinator}`;
  const server = createServer((req, res) => {
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
      .end(hostPage(coordinator, site));
  });
  return new Promise((resolve) => server.listen(port, 'localhost', () => resolve(server)));
}
