import { randomInt, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createPstnTrackerClient,
  PstnTrackerError,
  unwrap,
  type PstnEvent,
  type PstnTrackerClient,
} from '../clients/typescript/src';
import type { FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';
import { deliver } from './support/deliver';
import { TcpProxy } from './support/tcp-proxy';
import { ADMIN_TOKEN, type TestApp } from './support/test-app';
import { startTestStack, type TestStack } from './support/test-stack';
import { buildEvent } from './support/webhook-fixtures';

/**
 * clients/typescript as another service would use it, against the real app on a real port:
 * numbers registered for a meeting the service has never seen, a caller waited for, the event
 * stream followed across a dropped connection, callers acted on through the fake Tencent, and
 * the service's error answers as typed errors.
 */
describe('the typed client against the real service', () => {
  let stack: TestStack;
  let fake: FakeTencentServer;
  let t: TestApp;
  let port: number;
  let token: string;
  let client: PstnTrackerClient;

  beforeAll(async () => {
    stack = await startTestStack();
    ({ fake, t } = stack);
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    const admin = createPstnTrackerClient({ baseUrl: url(port), token: ADMIN_TOKEN });
    const created = await unwrap(
      admin.POST('/admin/api-clients', {
        body: { name: 'typed-client', scopes: ['lookup', 'control'] },
      }),
    );
    token = created.token ?? '';
    client = createPstnTrackerClient({ baseUrl: url(port), token });
  });

  afterAll(async () => {
    expect(fake.badSignatureCount).toBe(0);
    await stack?.close();
  });

  const newMeeting = () => String(10n ** 19n + BigInt(randomInt(2 ** 47)));
  const joined = (meetingId: string, number: string, msOpenId: string) => {
    fake.connect(meetingId, 86, number, msOpenId);
    return deliver(t, buildEvent('meeting.participant-joined', { meetingId, msOpenId }));
  };

  it('follows a meeting it registered before any webhook, across a dropped event stream', async () => {
    const meetingId = newMeeting();
    const [first, second] = ['13700000101', '13700000102'];
    const registered = await unwrap(
      client.PUT('/v1/meetings/{meetingId}/tracked-numbers', {
        params: { path: { meetingId } },
        body: { phone_numbers: [first, second].map((n) => ({ area: 86, phone_number: n })) },
      }),
    );
    expect(registered).toEqual({
      meeting_id: meetingId,
      phone_numbers: [
        { area: 86, phone_number: first, ms_open_ids: [] },
        { area: 86, phone_number: second, ms_open_ids: [] },
      ],
    });

    // The stream goes through a proxy the test cuts; everything else reaches the app directly.
    let proxy = await TcpProxy.start(port);
    const proxyPort = proxy.port;
    const asked: (string | null)[] = [];
    const streamed = createPstnTrackerClient({
      baseUrl: url(proxyPort),
      token,
      fetch: (request) => {
        asked.push(request.headers.get('last-event-id'));
        return fetch(request);
      },
    });
    const events: PstnEvent[] = [];
    let opens = 0;
    let reconnects = 0;
    const stop = new AbortController();
    const subscription = streamed.subscribePstnEvents(meetingId, {
      signal: stop.signal,
      retryMs: 50,
      onEvent: (event) => void events.push(event),
      onOpen: () => (opens += 1),
      onReconnect: () => (reconnects += 1),
    });
    await vi.waitFor(() => expect(opens).toBe(1));
    const seen = () => events.map((event) => [event.type, event.data.ms_open_id]);

    // Asked before the caller dials in: the lookup waits for the resolution.
    const waiting = client.waitForCaller(meetingId, { number: first }, { timeoutMs: 10_000 });
    await deliver(t, buildEvent('meeting.started', { meetingId }));
    await joined(meetingId, first, 'typed-1');
    expect(await waiting).toEqual({
      area: 86,
      phone_number: first,
      ms_open_id: 'typed-1',
      status: 'connected',
    });
    await expect.poll(seen).toEqual([
      ['participant.joined', 'typed-1'],
      ['participant.resolved', 'typed-1'],
    ]);
    expect(events[1].data).toEqual({
      meeting_id: meetingId,
      ms_open_id: 'typed-1',
      area: '86',
      phone_number: first,
    });
    const lastBeforeDrop = events[1].id;
    expect(lastBeforeDrop).toMatch(/^\d+-\d+$/);

    // The connection drops; the second caller dials in and resolves while the stream is away.
    await proxy.close();
    await vi.waitFor(() => expect(reconnects).toBeGreaterThan(0));
    await joined(meetingId, second, 'typed-2');
    const secondCaller = await client.waitForCaller(
      meetingId,
      { area: '86', number: second },
      { timeoutMs: 10_000 },
    );
    expect(secondCaller?.ms_open_id).toBe('typed-2');
    expect(seen()).toHaveLength(2);

    proxy = await TcpProxy.start(port, proxyPort);
    await vi.waitFor(() => expect(opens).toBe(2), { timeout: 5_000 });
    const muted = await client.mute(
      meetingId,
      { phone_numbers: [{ area: 86, phone_number: first }] },
      { idempotencyKey: randomUUID() },
    );
    expect(muted.results).toEqual([
      { area: 86, phone_number: first, ms_open_id: 'typed-1', outcome: 'done' },
    ]);
    expect(fake.participant(meetingId, 'typed-1')?.muted).toBe(true);
    await deliver(t, buildEvent('meeting.participant-left', { meetingId, msOpenId: 'typed-1' }));

    // What was missed came on reconnecting, then the live event: none lost, none twice.
    await expect.poll(seen).toEqual([
      ['participant.joined', 'typed-1'],
      ['participant.resolved', 'typed-1'],
      ['participant.joined', 'typed-2'],
      ['participant.resolved', 'typed-2'],
      ['participant.left', 'typed-1'],
    ]);
    expect(asked[0]).toBeNull();
    expect(asked.length).toBeGreaterThan(1);
    expect(new Set(asked.slice(1))).toEqual(new Set([lastBeforeDrop]));
    stop.abort();
    await expect(subscription).resolves.toBeUndefined();
    await proxy.close();

    // The meeting's whole history, read from its start, is exactly what the stream delivered.
    const history: PstnEvent[] = [];
    const replay = new AbortController();
    const replayed = client.subscribePstnEvents(meetingId, {
      signal: replay.signal,
      lastEventId: '0-0',
      onEvent: (event) => {
        history.push(event);
        if (event.type === 'participant.left') replay.abort();
      },
    });
    await replayed;
    expect(history).toEqual(events);
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
  });

  it('acts once per Idempotency-Key, and answers errors as PstnTrackerError', async () => {
    const meetingId = newMeeting();
    const number = '13700000201';
    await deliver(t, buildEvent('meeting.started', { meetingId }));
    const waiting = client.waitForCaller(meetingId, { number }, { timeoutMs: 10_000 });
    await joined(meetingId, number, 'typed-3');
    expect((await waiting)?.ms_open_id).toBe('typed-3');

    const targets = { ms_open_ids: ['typed-3'] };
    const idempotencyKey = randomUUID();
    const renamed = await client.rename(meetingId, targets, 'Guest', { idempotencyKey });
    expect(renamed).toEqual({
      meeting_id: meetingId,
      action: 'rename',
      results: [{ ms_open_id: 'typed-3', outcome: 'done' }],
    });
    const calls = fake.callsFor(meetingId);
    expect(await client.rename(meetingId, targets, 'Guest', { idempotencyKey })).toEqual(renamed);
    expect(fake.callsFor(meetingId)).toBe(calls);
    expect(fake.participant(meetingId, 'typed-3')?.nickName).toBe('Guest');

    const refusal = (call: Promise<unknown>) =>
      call.then(
        () => {
          throw new Error('the call succeeded');
        },
        (error: unknown) => {
          expect(error).toBeInstanceOf(PstnTrackerError);
          const { status, body } = error as PstnTrackerError;
          return { status, body };
        },
      );
    expect(await refusal(client.rename(meetingId, targets, 'Other', { idempotencyKey }))).toEqual({
      status: 409,
      body: { error: { code: 'idempotency_key_reused', message: expect.any(String) } },
    });
    expect(await refusal(client.kick(meetingId, targets, { waitMs: 30_001 }))).toMatchObject({
      status: 400,
      body: { error: { code: 'bad_request' } },
    });
    expect(
      await refusal(
        unwrap(
          client.GET('/v1/meetings/{meetingId}/pstn-participants/{msOpenId}', {
            params: { path: { meetingId, msOpenId: 'nobody' } },
          }),
        ),
      ),
    ).toEqual({
      status: 404,
      body: {
        error: { code: 'participant_not_found', message: 'no phone caller with this ms_open_id' },
      },
    });
    expect(fake.participant(meetingId, 'typed-3')).toMatchObject({ connected: true });

    // A stream the token may not open ends at once: another attempt would not mend it.
    const stranger = createPstnTrackerClient({ baseUrl: url(port), token: 'pt_not-a-token' });
    let reconnects = 0;
    const refused = await refusal(
      stranger.subscribePstnEvents(meetingId, {
        signal: AbortSignal.timeout(10_000),
        onEvent: () => undefined,
        onReconnect: () => (reconnects += 1),
      }),
    );
    expect(refused.status).toBe(401);
    expect(refused.body?.error.code).toBe('unauthorized');
    expect(reconnects).toBe(0);
  });
});

/**
 * What the service never does but a proxy or a later version may: `retry:`, CRLF line ends,
 * events cut across chunks, a stream that ends mid-event, one that goes silent, a 503.
 */
describe('the typed client following a stream that ends and goes silent', () => {
  let server: Server;
  const requests: { lastEventId: string | undefined; at: number }[] = [];
  let answer: (request: number, res: ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      requests.push({ lastEventId: req.headers['last-event-id'] as string, at: Date.now() });
      answer(requests.length, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('waits as the server says, resumes from the last id, gives up on silence', async () => {
    let ended = 0;
    answer = (request, res) => {
      if (request === 3) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"error": {"code": "service_unavailable", "message": "draining"}}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (request === 1) {
        res.write('retry: 300\r\n: hello\r\nid: 1-0\r\nevent: participant.jo');
        res.write('ined\r\ndata: {"meeting_id": "1", "ms_open_id": "a"}\r\n\r\n');
        // Cut in the middle of an event: the next connection starts afresh.
        res.write('id: 9-0\r\nevent: participant.left\r\ndata: {"meeting_');
        res.end(() => (ended = Date.now()));
      } else if (request === 2) {
        res.write(
          'id: 2-0\nevent: participant.left\ndata: {"meeting_id": "1",\ndata: "ms_open_id": "a"}\n\n',
        );
        // Then nothing, not even a heartbeat: the client must take the connection as dead.
      } else {
        res.write('event: meeting.ended\ndata: {"meeting_id": "1"}\n\n');
      }
    };
    const events: PstnEvent[] = [];
    const delays: number[] = [];
    const stop = new AbortController();
    const followed = createPstnTrackerClient({
      baseUrl: url((server.address() as AddressInfo).port),
      token: 'any',
    }).subscribePstnEvents('1', {
      signal: stop.signal,
      retryMs: 50,
      idleTimeoutMs: 500,
      onEvent: (event) => {
        events.push(event);
        if (event.type === 'meeting.ended') stop.abort();
      },
      onReconnect: (_reason, delayMs) => delays.push(delayMs),
    });
    await followed;

    expect(events).toEqual([
      { id: '1-0', type: 'participant.joined', data: { meeting_id: '1', ms_open_id: 'a' } },
      { id: '2-0', type: 'participant.left', data: { meeting_id: '1', ms_open_id: 'a' } },
      { id: undefined, type: 'meeting.ended', data: { meeting_id: '1' } },
    ]);
    expect(requests.map((r) => r.lastEventId)).toEqual([undefined, '1-0', '2-0', '2-0']);
    // The server's 300 ms, not the client's 50, plus up to half again after a stream that was
    // open; twice that after the 503, an attempt that failed.
    expect(delays).toHaveLength(3);
    for (const [index, base] of [300, 300, 600].entries()) {
      expect(delays[index]).toBeGreaterThanOrEqual(base);
      expect(delays[index]).toBeLessThanOrEqual(base * 1.5);
    }
    expect(requests[1].at - ended).toBeGreaterThanOrEqual(delays[0] - 20);
    // Silent for the idle timeout (500 ms) after its event, then the wait.
    expect(requests[2].at - requests[1].at).toBeGreaterThanOrEqual(500 + delays[1] - 20);
    expect(requests[3].at - requests[2].at).toBeGreaterThanOrEqual(delays[2] - 20);
  });
});

function url(port: number): string {
  return `http://127.0.0.1:${port}`;
}
