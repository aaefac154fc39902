import type { FakeEndpoint } from './tencent-routes';

export interface Fault {
  status: number;
  errorCode?: number;
  message?: string;
}

/**
 * What the next requests suffer instead of an answer: a hang, a queued fault (optionally aimed
 * at one endpoint) or Tencent's per-minute limit. Faults are served in the order they were
 * queued; a request takes the first one aimed at its endpoint or at every endpoint.
 */
export class FaultPlan {
  private faults: { fault: Fault; remaining: number; endpoint?: FakeEndpoint }[] = [];
  private hangs = 0;
  private recent: number[] = [];

  constructor(private readonly ratePerMinute?: number) {}

  failWith(fault: Fault, times: number, endpoint?: FakeEndpoint): void {
    this.faults.push({ fault, remaining: times, endpoint });
  }

  hang(times: number): void {
    this.hangs = times;
  }

  /** Forgets faults and hangs; the per-minute window is Tencent's, so it stays. */
  clear(): void {
    this.faults = [];
    this.hangs = 0;
  }

  /** A hang takes the next request whatever its endpoint; a fault only one it is aimed at. */
  take(endpoint: FakeEndpoint | null): Fault | 'hang' | null {
    if (this.hangs > 0) {
      this.hangs -= 1;
      return 'hang';
    }
    const index = this.faults.findIndex((f) => f.endpoint === undefined || f.endpoint === endpoint);
    if (index < 0) return null;
    const next = this.faults[index];
    next.remaining -= 1;
    if (next.remaining <= 0) this.faults.splice(index, 1);
    return next.fault;
  }

  /** Tencent's 190310 when this call would exceed the limit of any 60-s window, else null. */
  takeRateLimit(): Fault | null {
    if (!this.ratePerMinute) return null;
    const now = Date.now();
    this.recent = this.recent.filter((time) => time > now - 60_000);
    if (this.recent.length >= this.ratePerMinute) {
      return { status: 400, errorCode: 190310, message: 'rate limit exceeded' };
    }
    this.recent.push(now);
    return null;
  }
}
