import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP pass-through to a real service. Closing it makes that service unreachable for whoever
 * connects through it, the way a network partition or a stopped server would; freezing it makes
 * the service hang, connections open and nothing answered.
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private frozen = false;

  private constructor(targetPort: number) {
    this.server = createServer((client) => {
      this.track(client);
      if (this.frozen) return;
      const upstream = connect(targetPort, '127.0.0.1');
      this.track(upstream);
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.on('close', () => this.pairs.delete(pair));
      client.pipe(upstream).pipe(client);
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  /** Listens on `port` (a free one when 0), e.g. the port of a proxy closed earlier. */
  static async start(targetPort: number, port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(port, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('proxy is not listening');
    return address.port;
  }

  /** Passes nothing on from now, either way; connections stay open and new ones are accepted. */
  freeze(): void {
    this.frozen = true;
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
    }
  }

  /** Drops every open connection and refuses new ones. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
