import type { ServerResponse } from 'node:http';
import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics';
import { compareStreamIds, PstnEventStream, type PstnStreamEvent } from './pstn-event.stream';

const HEARTBEAT_MS = 15_000;
const STREAM_ID = /^\d+-\d+$/;

/** Open streams per API client and in all, so that no client can hold more than its share. */
interface Counts {
  total: number;
  byClient: Map<string, number>;
}

/**
 * The open Server-Sent Events streams of this instance. A stream is counted and its cleanup
 * registered before anything is awaited, so a client that goes away at any moment (even before
 * the first byte) is unsubscribed and its heartbeat stopped; a client over its share, or an
 * instance at its total, is answered 429 instead.
 */
@Injectable()
export class SseStreams implements BeforeApplicationShutdown {
  private readonly counts: Counts = { total: 0, byClient: new Map() };
  private readonly open = new Set<ServerResponse>();

  constructor(
    private readonly env: Env,
    private readonly events: PstnEventStream,
    metrics: Metrics,
  ) {
    metrics.gauge(
      'pstn_sse_subscribers',
      'Open participant event streams on this instance',
      () => this.counts.total,
    );
  }

  /** Throws the 429 a new stream of `clientId` gets while it or the instance is at its cap. */
  admit(clientId: string): void {
    if (this.counts.total >= this.env.SSE_MAX_STREAMS) {
      throw new ApiError(
        429,
        'too_many_streams',
        'this instance holds as many event streams as it may',
      );
    }
    if ((this.counts.byClient.get(clientId) ?? 0) >= this.env.SSE_MAX_STREAMS_PER_CLIENT) {
      throw new ApiError(
        429,
        'too_many_streams',
        `this client already holds ${this.env.SSE_MAX_STREAMS_PER_CLIENT} event streams`,
      );
    }
  }

  /**
   * Streams the meeting's events on `response` (already admitted): what followed `lastEventId`
   * when the meeting's history still holds it, then live events.
   */
  stream(
    meetingId: string,
    lastEventId: string | undefined,
    clientId: string,
    response: ServerResponse,
  ): void {
    this.count(clientId, 1);
    this.open.add(response);
    let replayedUpTo: string | null = null;
    let buffered: PstnStreamEvent[] | null = [];
    const send = (event: PstnStreamEvent) => {
      if (buffered) buffered.push(event);
      else if (!replayedUpTo || !event.id || compareStreamIds(event.id, replayedUpTo) > 0) {
        response.write(formatEvent(event));
      }
    };
    const stopListening = this.events.listen(meetingId, send);
    const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), HEARTBEAT_MS);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      stopListening();
      this.open.delete(response);
      this.count(clientId, -1);
    };
    response.once('close', close);
    if (response.destroyed) {
      close();
      return;
    }

    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.write(': connected\n\n');
    void this.replay(meetingId, lastEventId).then((history) => {
      if (closed) return;
      for (const event of history) {
        response.write(formatEvent(event));
        replayedUpTo = event.id;
      }
      const live = buffered ?? [];
      buffered = null;
      for (const event of live) send(event);
    });
  }

  private async replay(
    meetingId: string,
    lastEventId: string | undefined,
  ): Promise<PstnStreamEvent[]> {
    return lastEventId && STREAM_ID.test(lastEventId)
      ? this.events.history(meetingId, lastEventId)
      : [];
  }

  private count(clientId: string, delta: number): void {
    this.counts.total += delta;
    const next = (this.counts.byClient.get(clientId) ?? 0) + delta;
    if (next > 0) this.counts.byClient.set(clientId, next);
    else this.counts.byClient.delete(clientId);
  }

  /** Ends open streams before the HTTP server waits for its connections to finish. */
  beforeApplicationShutdown(): void {
    for (const response of this.open) response.end();
  }
}

function formatEvent(event: PstnStreamEvent): string {
  const id = event.id ? `id: ${event.id}\n` : '';
  return `${id}event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
