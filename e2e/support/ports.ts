/** Where the end-to-end tests run: the coordinator on 127.0.0.1, host pages on `localhost` (another site). */
const coordinatorPort = 18080;
const hostPort = 18082;
const strangerPort = 18083;

export const E2E = Object.freeze({
  coordinatorPort,
  demoPort: 18081,
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
