import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FastLaneServer, type FastLane } from './fast-lane';
import type { RequestLine } from './request-log.controller';

/** Answers `{"lane": "answer"}`, throws on `{"lane": "throw"}` and declines anything else. */
class TestLane implements FastLane {
  readonly route = '/echo';
  bodiesRead = 0;

  wants(request: IncomingMessage): boolean {
    return request.method === 'POST' && request.url === '/echo';
  }

  answer(_request: IncomingMessage, body: Buffer, response: ServerResponse): Promise<boolean> {
    this.bodiesRead += 1;
    const text = body.toString();
    if (text.includes('"throw"')) return Promise.reject(new Error('lane failed'));
    if (!text.includes('"answer"')) return Promise.resolve(false);
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"from":"lane"}');
    return Promise.resolve(true);
  }
}

describe('fast lane in front of Fastify', () => {
  let fastify: FastifyInstance;
  let url: string;
  const lane = new TestLane();
  const answered: RequestLine[] = [];

  beforeAll(async () => {
    fastify = Fastify({ serverFactory: FastLaneServer.factory, bodyLimit: 64 * 1024 });
    FastLaneServer.install(fastify, lane, (line) => answered.push(line));
    fastify.post('/echo', (request) => ({ from: 'fastify', body: request.body }));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}/echo`;
  });

  afterAll(() => fastify.close());

  beforeEach(() => {
    lane.bodiesRead = 0;
    answered.length = 0;
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  it('lets the lane answer, and reports the answer for logs and metrics', async () => {
    const res = await post('{"lane":"answer"}');
    expect(await res.json()).toEqual({ from: 'lane' });
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

  it('refuses a Fastify that was not created with its server factory', () => {
    expect(() => FastLaneServer.install(Fastify(), lane, () => undefined)).toThrow(
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
