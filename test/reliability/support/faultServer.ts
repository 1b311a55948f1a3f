// An upstream that misbehaves below the HTTP library: it writes raw bytes on a TCP socket, so it
// can send what node:http would refuse to (garbage instead of a status line, a chunk cut inside
// its size, a reset half way through a chunked stream), plus a few well-formed answers the shared
// mock does not give (500 with Retry-After, a non-UTF-8 body, a body ended by closing).
// The behaviour is the first path segment after /v1 or the route: e.g. POST /fault/500-retry.
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface FaultServer {
  readonly url: string;
  readonly port: number;
  /** Connections currently open (the proxy's pool included). */
  openSockets(): number;
  /** Requests received, by behaviour name. */
  readonly seen: string[];
  close(): Promise<void>;
}

const json = (status: string, obj: unknown, extra = ''): string => {
  const body = JSON.stringify(obj);
  return `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
};

const sse = (data: string): string => `data: ${data}\n\n`;
const chunk = (s: string | Buffer): Buffer => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([Buffer.from(b.length.toString(16) + '\r\n'), b, Buffer.from('\r\n')]);
};

/** Sent back by the 'set-cookie' behaviour: a secret the proxy must never store. */
export const RESPONSE_COOKIE_SECRET = 'upstreamSessionCookieZq81LmVx0PdW3';

/** The raw bytes (or actions) for each behaviour. */
const BEHAVIOURS: Record<string, (sock: net.Socket) => void> = {
  '500-retry': (s) => { s.end(json('500 Internal Server Error', { error: { message: 'boom', type: 'server_error' } }, 'Retry-After: 7\r\n')); },
  '429-retry-date': (s) => { s.end(json('429 Too Many Requests', { error: { message: 'slow down', type: 'rate_limit_exceeded' } }, 'Retry-After: Wed, 21 Oct 2037 07:28:00 GMT\r\nX-RateLimit-Reset-Requests: 20s\r\n')); },
  'garbage': (s) => { s.end('this is not HTTP at all\r\n\r\n'); },
  'reset-in-headers': (s) => { s.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Half: '); setTimeout(() => s.resetAndDestroy(), 20); },
  'cut-chunk-size': (s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
    s.write(chunk(sse('{"choices":[{"delta":{"content":"one"}}]}')));
    setTimeout(() => { s.write('4'); s.resetAndDestroy(); }, 20);
  },
  'reset-chunked': (s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
    s.write(chunk(sse('{"choices":[{"delta":{"content":"one"}}]}')));
    s.write(chunk(sse('{"choices":[{"delta":{"content":" two"}}]}')));
    setTimeout(() => s.resetAndDestroy(), 30);
  },
  'close-delimited': (s) => {
    // HTTP/1.1 allows a body ended by closing the connection when it has no length and no chunking.
    s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n');
    s.end(JSON.stringify({ id: 'x', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'closed' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
  },
  'non-utf8': (s) => {
    const body = Buffer.concat([Buffer.from('{"choices":[{"message":{"content":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80]), Buffer.from('"}}]}')]);
    s.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
  },
  'length-mismatch': (s) => {
    // Announces more bytes than it sends, then closes: a truncated body the client must not take as whole.
    s.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"choices":[');
  },
  'set-cookie': (s) => { s.end(json('200 OK', { choices: [{ message: { role: 'assistant', content: 'cookie' } }] }, `Set-Cookie: sid=${RESPONSE_COOKIE_SECRET}; HttpOnly\r\nX-Session-Token: ${RESPONSE_COOKIE_SECRET}\r\n`)); },
  'huge-header': (s) => {
    // A response header over undici's default 16 KB limit (maxHeaderSize).
    s.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Big: ${'a'.repeat(80 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`);
  },
};

export const FAULT_NAMES = Object.keys(BEHAVIOURS);

export async function startFaultServer(): Promise<FaultServer> {
  const sockets = new Set<net.Socket>();
  const seen: string[] = [];
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + len) return;
      sock.off('data', onData);
      const target = head.split(' ')[1] ?? '/';
      const name = target.split('?')[0].split('/').filter(Boolean).pop() ?? '';
      seen.push(name);
      const b = BEHAVIOURS[name];
      if (b) b(sock);
      else sock.end(json('404 Not Found', { error: { message: `no fault ${name}` } }));
    };
    sock.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, port, seen,
    openSockets: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port with nothing listening on it (bound, then closed). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
