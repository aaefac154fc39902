import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FastLaneServer, parseJsonBody, sendText, type FastLane } from './fast-lane';
import type { RequestLine } from './request-log.controller';

/**
 * Answers `{"lane": "answer"}` (and `{"lane": "log"}`, writing an error line first, and
 * `{"lane": "slow"}`, 100 ms later), throws on `{"lane": "throw"}` and declines anything else.
 */
class TestLane implements FastLane {
  bodiesRead = 0;

  constructor(readonly route = '/echo') {}

  wants(request: IncomingMessage): boolean {
    return request.method === 'POST' && request.url === this.route;
  }

  async answer(
    _request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
    logError: (message: string) => void,
  ): Promise<boolean> {
    this.bodiesRead += 1;
    const text = body.toString();
    if (text.includes('"throw"')) throw new Error('lane failed');
    if (text.includes('"log"')) logError('lane logged');
    else if (text.includes('"slow"')) await sleep(100);
    else if (!text.includes('"answer"')) return false;
    sendText(response, 200, 'application/json', `{"from":"lane${this.route}"}`);
    return true;
  }
}

describe('fast lane in front of Fastify', () => {
  let fastify: FastifyInstance;
  let url: string;
  const lane = new TestLane();
  const otherLane = new TestLane('/other');
  const answered: RequestLine[] = [];
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    fastify = Fastify({
      serverFactory: FastLaneServer.factory,
      bodyLimit: 64 * 1024,
      logger: {
        level: 'error',
        stream: { write: (line: string) => logLines.push(JSON.parse(line) as never) },
      },
    });
    FastLaneServer.install(fastify, [lane, otherLane], (line) => answered.push(line));
    fastify.post('/echo', (request) => ({ from: 'fastify', body: request.body }));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}/echo`;
  });

  afterAll(() => fastify.close());

  beforeEach(() => {
    lane.bodiesRead = 0;
    otherLane.bodiesRead = 0;
    answered.length = 0;
    logLines.length = 0;
  });

  const post = (body: string, headers: Record<string, string> = {}, to = url) =>
    fetch(to, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  it('lets the lane answer, and reports the answer for logs and metrics', async () => {
    const res = await post('{"lane":"answer"}');
    expect(await res.json()).toEqual({ from: 'lane/echo' });
    expect(answered).toEqual([
      {
        reqId: expect.stringMatching(/^req-/),
        method: 'POST',
        route: '/echo',
        status: 200,
        ms: expect.any(Number),
      },
    ]);
  });

  it('shows each request to the lane that wants it', async () => {
    const res = await post('{"lane":"answer"}', {}, url.replace('/echo', '/other'));
    expect(await res.json()).toEqual({ from: 'lane/other' });
    expect([lane.bodiesRead, otherLane.bodiesRead]).toEqual([0, 1]);
  });

  it("writes a lane's error line with the id of the request it answers", async () => {
    expect((await post('{"lane":"log"}')).status).toBe(200);
    expect(logLines).toEqual([
      expect.objectContaining({ msg: 'lane logged', context: 'Errors', reqId: answered[0].reqId }),
    ]);
  });

  it('reports no answer to a client that went away before it', async () => {
    const body = '{"lane":"slow"}';
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(
      `POST /echo HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n` +
        `content-length: ${body.length}\r\n\r\n${body}`,
    );
    await expect.poll(() => lane.bodiesRead).toBe(1);
    socket.destroy();
    await sleep(200);
    expect(answered).toEqual([]);
    // The same slow answer to a client that waits is reported.
    expect((await post(body)).status).toBe(200);
    await expect.poll(() => answered.length).toBe(1);
  });

  it('hands a declined request to Fastify with the body the lane read', async () => {
    const body = { lane: 'decline', text: 'ünïcödé '.repeat(50) };
    const res = await post(JSON.stringify(body));
    expect(lane.bodiesRead).toBe(1);
    expect(await res.json()).toEqual({ from: 'fastify', body });
    expect(answered).toEqual([]);
  });

  it("hands Fastify a body the lane could not parse, for Fastify's own error", async () => {
    const res = await post('{"lane": ');
    expect(lane.bodiesRead).toBe(1);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/JSON/);
  });

  it('hands Fastify the request when the lane fails', async () => {
    const res = await post('{"lane":"throw"}');
    expect(await res.json()).toEqual({ from: 'fastify', body: { lane: 'throw' } });
  });

  it('leaves large and unsized bodies to Fastify unread', async () => {
    const large = { lane: 'answer', padding: 'x'.repeat(20_000) };
    expect(await (await post(JSON.stringify(large))).json()).toEqual({
      from: 'fastify',
      body: large,
    });
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"lane":"answer"}'));
        controller.close();
      },
    });
    const streamed = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(await streamed.json()).toEqual({ from: 'fastify', body: { lane: 'answer' } });
    expect(lane.bodiesRead).toBe(0);
  });

  it("reads no body larger than Fastify's own limit", async () => {
    const small = Fastify({ serverFactory: FastLaneServer.factory, bodyLimit: 100 });
    FastLaneServer.install(small, [lane], () => undefined);
    small.post('/echo', () => ({ from: 'fastify' }));
    await small.listen({ port: 0, host: '127.0.0.1' });
    try {
      const port = (small.server.address() as AddressInfo).port;
      const body = JSON.stringify({ lane: 'answer', padding: 'x'.repeat(200) });
      const res = await post(body, {}, `http://127.0.0.1:${port}/echo`);
      expect(res.status).toBe(413);
      expect(lane.bodiesRead).toBe(0);
    } finally {
      await small.close();
    }
  });

  it('refuses a Fastify that was not created with its server factory', () => {
    expect(() => FastLaneServer.install(Fastify(), [lane], () => undefined)).toThrow(
      'Fastify must be created with FastLaneServer.factory',
    );
  });

  it('keeps the timeouts Fastify gives the servers it creates', () => {
    const plain = Fastify();
    expect(fastify.server.keepAliveTimeout).toBe(plain.server.keepAliveTimeout);
    expect(fastify.server.requestTimeout).toBe(plain.server.requestTimeout);
    expect(fastify.server.timeout).toBe(plain.server.timeout);
  });
});

describe('parseJsonBody', () => {
  it('parses JSON, and leaves to Fastify what does not parse or may name a poisoning key', () => {
    expect(parseJsonBody(Buffer.from('{"a":[1,"ü"]}'))).toEqual({ a: [1, 'ü'] });
    expect(parseJsonBody(Buffer.from('{"a":'))).toBeUndefined();
    expect(parseJsonBody(Buffer.from('{"__proto__":{"x":1}}'))).toBeUndefined();
    expect(parseJsonBody(Buffer.from('{"a":{"constructor":{"prototype":{}}}}'))).toBeUndefined();
    // JSON.parse turns these escapes into the same keys.
    expect(parseJsonBody(Buffer.from('{"\\u005f_proto__":{"x":1}}'))).toBeUndefined();
    expect(parseJsonBody(Buffer.from('{"\\u0063onstructor":{"prototype":{}}}'))).toBeUndefined();
  });
});
