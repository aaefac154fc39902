interface Waiter {
  urgent: () => boolean;
  start: () => void;
}

/**
 * The line of meetings waiting to call Tencent, in front of the rate limiter. Only a few calls
 * wait on the limiter at once (`turns`); the other meetings wait here, without having read what
 * to ask, so that a meeting's call carries every caller who connected while it waited. Meetings
 * a lookup is waiting for go first, the others in the order they came. The line is this
 * process's own: replicas share the rate limit, not the order.
 */
export class ResolutionQueue {
  private readonly waiting: Waiter[] = [];
  private active = 0;

  constructor(private readonly turns: number) {}

  /** Resolves when it is the caller's turn; calling the answered function ends the turn. */
  turn(urgent: () => boolean): Promise<() => void> {
    return new Promise((resolve) => {
      this.waiting.push({ urgent, start: () => resolve(() => this.end()) });
      this.next();
    });
  }

  private end(): void {
    this.active -= 1;
    this.next();
  }

  private next(): void {
    while (this.active < this.turns && this.waiting.length > 0) {
      const urgent = this.waiting.findIndex((waiter) => waiter.urgent());
      const [waiter] = this.waiting.splice(Math.max(urgent, 0), 1);
      this.active += 1;
      waiter.start();
    }
  }
}
