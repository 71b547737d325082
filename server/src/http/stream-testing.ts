/**
 * Test and benchmark support: real HTTP requests with a streamed body (written as the source
 * yields, with back-pressure) and NDJSON responses read line by line as they arrive.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface StreamReply {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  json<T = any>(): T;
  /** The request body could not be sent whole (the server answered early and closed). */
  cutShort: boolean;
}

/**
 * Sends `body` (chunks, possibly endless) to `url` and resolves with the answer, even when the
 * server answers before the body ended and closes the connection.
 */
export function postStream(url: string, key: string, contentType: string, body: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<StreamReply> {
  return new Promise((resolve, reject) => {
    let cutShort = false;
    let settled = false;
    let answered = false;
    const req = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': contentType } });
    req.on('response', (res) => {
      // Answered before the body ended: a refusal; stop sending (as curl does).
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('error', () => undefined);
      res.on('end', () => {
        settled = true;
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text), cutShort });
      });
    });
    req.on('error', (error) => {
      cutShort = true;
      // An early answer followed by a reset is still an answer; an error with none is a failure.
      setTimeout(() => {
        if (!settled) reject(error);
      }, 200);
    });
    void (async () => {
      try {
        for await (const chunk of body) {
          if (req.destroyed || answered) {
            cutShort = true;
            break;
          }
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r).once('close', r));
        }
        if (!req.destroyed) req.end();
      } catch (error) {
        req.destroy(error as Error);
      }
    })();
  });
}

/** An NDJSON response read line by line as it arrives. */
export interface LineReader {
  status: number;
  /** The next line, parsed; undefined once the response ended. */
  next(): Promise<any | undefined>;
  /** Every remaining line until the response ends. */
  rest(): Promise<any[]>;
  /** Leaves (the client disconnects). */
  close(): void;
}

export function getLines(url: string, key: string): Promise<LineReader> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { authorization: `Bearer ${key}` } });
    req.on('error', reject);
    req.on('response', (res) => {
      const iterator = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      let buffered = '';
      const lines: string[] = [];
      async function next(): Promise<any | undefined> {
        while (lines.length === 0) {
          const step = await iterator.next().catch(() => ({ done: true as const, value: undefined }));
          if (step.done) {
            if (buffered.trim() !== '') {
              lines.push(buffered);
              buffered = '';
              break;
            }
            return undefined;
          }
          buffered += step.value.toString('utf8');
          const parts = buffered.split('\n');
          buffered = parts.pop() ?? '';
          lines.push(...parts.filter((line) => line !== ''));
        }
        return JSON.parse(lines.shift()!);
      }
      resolve({
        status: res.statusCode ?? 0,
        next,
        async rest() {
          const all = [];
          for (let line = await next(); line !== undefined; line = await next()) all.push(line);
          return all;
        },
        close: () => req.destroy(),
      });
    });
    req.end();
  });
}

/** One length-prefixed frame of the binary form. */
export function frameOf(bytes: Uint8Array): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(bytes.length);
  return Buffer.concat([prefix, bytes]);
}
