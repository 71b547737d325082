/**
 * A child process of the throughput benchmark: a bare Socket.IO server on the `/volunteer`
 * namespace that only acknowledges the volunteer events — a lease request with made-up leases of
 * tiny primes tasks, a result (or a batch of results) with `ok`. What the transport allows the
 * same clients; the coordinator's rate is judged against it.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { encodePrimesInput } from '../wasm/tasks/primes/codec.ts';

const port = Number(process.env['PORT']);
const http = createServer();
const io = new Server(http, { serveClient: false });
let next = 0;

io.of('/volunteer').on('connection', (socket) => {
  socket.on('lease', (request: { slots: number }, ack: (reply: unknown) => void) => {
    const leases = Array.from({ length: request.slots }, () => {
      const n = next++;
      return {
        leaseId: `lease-${n}`,
        taskId: `job:${n}`,
        job: { id: 'job', title: null, purpose: null },
        module: { hash: '0'.repeat(64), url: '/modules/x.wasm' },
        input: encodePrimesInput((n % 1000) * 20, (n % 1000) * 20 + 20),
        deadline: Date.now() + 30_000,
        limits: { timeMs: 30_000, maxMemoryBytes: 2 ** 28, maxOutputBytes: 2 ** 22 },
      };
    });
    ack({ leases });
  });
  socket.on('result', (_payload: unknown, ack: (reply: unknown) => void) => ack({ ok: true }));
  socket.on('results', (payload: { results: unknown[] }, ack: (reply: unknown) => void) =>
    ack({ outcomes: payload.results.map(() => ({ ok: true })) }));
});

http.listen(port, '127.0.0.1', () => process.send?.('listening'));
process.on('SIGTERM', () => {
  io.close();
  process.exit(0);
});
