/**
 * Where the end-to-end tests run: the coordinator on 127.0.0.1, host pages on `localhost` (another
 * site). `E2E_PORT_BASE` (default 18080) moves all four ports, so two checkouts can run their
 * browser tests side by side.
 */
const base = Number(process.env['E2E_PORT_BASE'] ?? 18080);
const coordinatorPort = base;
const hostPort = base + 2;
const strangerPort = base + 3;

export const E2E = Object.freeze({
  coordinatorPort,
  demoPort: base + 1,
  hostPort,
  strangerPort,
  coordinator: `http://127.0.0.1:${coordinatorPort}`,
  /** Registered as the test site's origin. */
  hostOrigin: `http://localhost:${hostPort}`,
  /** Never registered: embeds from here must be refused. */
  strangerOrigin: `http://localhost:${strangerPort}`,
  adminKey: 'e2e-admin-key-0123456789',
  dataDir: '.tmp/e2e-data',
});
