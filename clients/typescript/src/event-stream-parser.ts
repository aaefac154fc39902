/** One event of a `text/event-stream`, as the server wrote it. */
export interface ServerSentEvent {
  /** The event's own `id:`, when it had one. */
  id: string | undefined;
  /** `event:`, or `message` when the server named none. */
  type: string;
  data: string;
}

export interface ParserListener {
  event(event: ServerSentEvent): void;
  /** The server's `retry:`: how long to wait before reconnecting. */
  retry(ms: number): void;
}

/**
 * Parses one connection's `text/event-stream` as its text arrives, in chunks cut anywhere, by
 * the rules of the HTML standard (9.2.6): lines end in CRLF, LF or CR; a blank line dispatches
 * the event; a line starting with a colon is a comment (the service's heartbeat).
 */
export class EventStreamParser {
  private dispatchedId: string | undefined;
  private pending = '';
  /** The previous chunk ended in CR: a LF opening this one ends no second line. */
  private afterCR = false;
  private data: string[] = [];
  private type = '';
  private id: string | undefined;
  private idSeen = false;

  /** `lastEventId`: the previous connection's, kept until this one sends an `id:`. */
  constructor(
    private readonly listener: ParserListener,
    lastEventId: string | undefined,
  ) {
    this.dispatchedId = lastEventId;
    this.id = lastEventId;
  }

  /**
   * What to send as Last-Event-ID on reconnecting: the latest `id:` of a dispatched event, kept
   * across events that carry none.
   */
  get lastEventId(): string | undefined {
    return this.dispatchedId;
  }

  push(chunk: string): void {
    let text = this.pending + (this.afterCR && chunk.startsWith('\n') ? chunk.slice(1) : chunk);
    this.afterCR = false;
    for (let end = text.search(/[\r\n]/); end !== -1; end = text.search(/[\r\n]/)) {
      const line = text.slice(0, end);
      let next = end + 1;
      if (text[end] === '\r') {
        if (next === text.length) this.afterCR = true;
        else if (text[next] === '\n') next += 1;
      }
      text = text.slice(next);
      this.line(line);
    }
    this.pending = text;
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.type = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.id = value || undefined;
          this.idSeen = true;
        }
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.listener.retry(Number(value));
        break;
    }
  }

  private dispatch(): void {
    this.dispatchedId = this.id;
    const { data, type, idSeen } = this;
    this.data = [];
    this.type = '';
    this.idSeen = false;
    if (data.length === 0) return;
    this.listener.event({
      id: idSeen ? this.id : undefined,
      type: type || 'message',
      data: data.join('\n'),
    });
  }
}
