/**
 * Host pages for browser tests and benchmarks: an ordinary site on another origin whose only
 * sparecycles code is the one-line snippet, served under a strict CSP that allows the coordinator
 * for scripts and frames and nothing else.
 *
 * `&attack=…` serves the same page with a hostile stylesheet and script of its own origin, as a
 * page trying to clickjack its visitor's consent would:
 * - `transparent`: the frame is made fully transparent over the page's own "Play" button;
 * - `covered`: the page's "Play" card lies over the frame, letting clicks through to it;
 * - `moved`: the frame waits off screen and jumps under the pointer when it nears "Play";
 * - `slid`: the frame slides under a pointer resting on "Play" and stays there.
 * `&dx=&dy=` say where "Allow" sits inside the frame, as an attacker would have measured.
 */
import { createServer, type Server } from 'node:http';

export const ATTACKS = ['transparent', 'covered', 'moved', 'slid'] as const;
export type Attack = (typeof ATTACKS)[number];

function hostPage(coordinator: string, siteKey: string, attack: Attack | undefined): string {
  const hostile = attack ? `<link rel="stylesheet" href="/attack.css"><script src="/attack.js" defer></script>` : '';
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>A host page</title>${hostile}</head>
<body data-attack="${attack ?? ''}">
  <h1>An ordinary page</h1>
  <p>It embeds sparecycles with one line.</p>
  <button id="play" type="button">Play</button>
  <script src="${coordinator}/embed.js" data-site="${siteKey}" async></script>
</body>
</html>`;
}

const ATTACK_CSS = `
#play { position: fixed; left: 200px; top: 200px; width: 160px; height: 60px; }
iframe { right: auto !important; bottom: auto !important; left: -2000px !important; top: 0 !important; }
body[data-attack='transparent'] iframe { opacity: 0 !important; }
body[data-attack='covered'] #play { z-index: 2147483647; pointer-events: none; left: 100px; top: 100px; width: 400px; height: 300px; opacity: 0.95; background: #fc0; }
`;

/** The attacker's script: puts the frame's "Allow" where the visitor's pointer is (moved, slid). */
const ATTACK_JS = `
(() => {
  const mode = document.body.dataset.attack;
  const params = new URLSearchParams(location.search);
  const dx = Number(params.get('dx')), dy = Number(params.get('dy'));
  const frame = () => document.querySelector('iframe');
  const place = (x, y) => {
    const f = frame();
    if (!f) return;
    f.style.setProperty('left', (x - dx) + 'px', 'important');
    f.style.setProperty('top', (y - dy) + 'px', 'important');
  };
  const play = document.getElementById('play');
  const centre = () => {
    const box = play.getBoundingClientRect();
    return [box.left + box.width / 2, box.top + box.height / 2];
  };
  if (mode === 'transparent' || mode === 'covered') {
    // "Allow" sits under the page's own "Play", invisible or hidden under it.
    const waitForFrame = setInterval(() => {
      if (!frame()) return;
      clearInterval(waitForFrame);
      place(...centre());
      // Drawn over the frame: later in the page than the frame the loader appended.
      if (mode === 'covered') document.body.appendChild(play);
    }, 50);
  }
  if (mode === 'moved') {
    // Only when the pointer nears "Play", so the frame is on screen for a moment before the click.
    // "Allow" goes where the visitor is heading (the page sees no more moves once the frame is under the pointer).
    addEventListener('pointermove', (e) => {
      const box = play.getBoundingClientRect();
      if (e.clientX > box.left - 30 && e.clientX < box.right + 30 && e.clientY > box.top - 30 && e.clientY < box.bottom + 30) place(...centre());
    });
  }
  if (mode === 'slid') {
    // The clock starts when the pointer first shows up, so a slow frame load cannot make the slide miss it.
    let last, timer;
    addEventListener('pointermove', (e) => {
      last = e;
      timer ??= setTimeout(() => place(last.clientX, last.clientY), Number(params.get('after') || 1500));
    });
  }
})();
`;

/** Serves `/?site=KEY[&attack=…]` (the host page), its attack assets and `/health` on `localhost:port`. */
export function serveHostPages(port: number, coordinator: string): Promise<Server> {
  const csp = `default-src 'self'; script-src 'self' ${coordinator}; frame-src ${coordinator}`;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://localhost:${port}`);
    if (url.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (url.pathname === '/attack.css') {
      res.writeHead(200, { 'content-type': 'text/css' }).end(ATTACK_CSS);
      return;
    }
    if (url.pathname === '/attack.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(ATTACK_JS);
      return;
    }
    const site = url.searchParams.get('site') ?? '';
    const attack = url.searchParams.get('attack');
    const validAttack = attack === null || (ATTACKS as readonly string[]).includes(attack);
    if (url.pathname !== '/' || !/^[A-Za-z0-9_-]+$/.test(site) || !validAttack) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp })
      .end(hostPage(coordinator, site, (attack as Attack | null) ?? undefined));
  });
  return new Promise((resolve) => server.listen(port, 'localhost', () => resolve(server)));
}
