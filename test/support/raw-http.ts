import { connect, type AddressInfo, type Socket } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * HTTP spoken over a bare socket, for what an HTTP client library would not send (headers past
 * Node's limit, bytes that are not HTTP, a body that never arrives) and for clients that go away
 * at the worst moment.
 */

/** Listens on a free loopback port (once per app) and answers the port. */
export async function listeningPort(app: NestFastifyApplication): Promise<number> {
  const server = app.getHttpServer();
  if (!server.listening) await app.listen(0, '127.0.0.1');
  return (server.address() as AddressInfo).port;
}

/** What came back on a socket, read until the server closed it (or the wait ran out). */
export interface RawAnswer {
  /** 0 when nothing that looks like a status line came back. */
  status: number;
  /** Lower-case names; the last value of a repeated header. */
  headers: Record<string, string>;
  body: string;
  /** Whether the server closed the connection (rather than the wait running out). */
  closedByServer: boolean;
  /** Milliseconds from the first byte written to the server closing (or the wait ending). */
  ms: number;
}

function parse(raw: string): Pick<RawAnswer, 'status' | 'headers' | 'body'> {
  const end = raw.indexOf('\r\n\r\n');
  const head = end >= 0 ? raw.slice(0, end) : raw;
  const [statusLine, ...lines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1];
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: status ? Number(status) : 0, headers, body: end >= 0 ? raw.slice(end + 4) : '' };
}

/**
 * Connects, writes `chunks` (the later ones after `gapMs` each), then reads until the server
 * closes the connection or `waitMs` has passed. Nothing is sent after the chunks: a request
 * left unfinished stays unfinished.
 */
export async function rawExchange(
  port: number,
  chunks: (string | Buffer)[],
  { waitMs = 5000, gapMs = 0 }: { waitMs?: number; gapMs?: number } = {},
): Promise<RawAnswer> {
  const socket = await open(port);
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const started = Date.now();
  let ms = waitMs;
  const closed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs);
    socket.once('close', () => {
      ms = Date.now() - started;
      clearTimeout(timer);
      resolve(true);
    });
  });
  socket.on('error', () => undefined);
  for (const [index, chunk] of chunks.entries()) {
    if (index > 0 && gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    if (socket.destroyed) break;
    socket.write(chunk);
  }
  const closedByServer = await closed;
  socket.destroy();
  return { ...parse(Buffer.concat(received).toString('utf8')), closedByServer, ms };
}

/** A connected socket to the loopback port. */
export function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Writes a whole request and drops the connection at once, before any answer can come: the
 * client that goes away while the server is still working on its request.
 */
export async function writeAndDrop(port: number, request: string): Promise<void> {
  const socket = await open(port);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.write(request, () => resolve()));
  socket.destroy();
}
