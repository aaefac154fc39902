import { randomInt } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeTencentServer } from '../fake-tencent/fake-tencent-server';

/**
 * A pass-through in front of the fake Tencent server that makes a share of the calls fail with
 * a 5xx. The fake can fail "the next n calls" but not "one call in ten", so for each request
 * that passes here a coin is tossed and, on a loss, the fake is told to fail its next call;
 * the request then goes on unchanged, so the fake still checks its signature and records it.
 */
export class FlakyUpstream {
  private readonly server: Server;
  /** Calls told to fail. */
  failed = 0;

  constructor(
    private readonly fake: FakeTencentServer,
    private readonly fakeUrl: string,
    private readonly failureRate: number,
  ) {
    this.server = createServer((req, res) => {
      if (Math.random() < this.failureRate) {
        this.failed += 1;
        const status = [500, 502, 503][randomInt(3)];
        this.fake.failWith({ status, message: 'simulated upstream failure' }, 1);
      }
      const upstream = request(
        new URL(req.url ?? '/', this.fakeUrl),
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
  }

  /** Listens on `host` (loopback unless a container must reach it); answers its base URL. */
  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, resolve);
    });
    return `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
