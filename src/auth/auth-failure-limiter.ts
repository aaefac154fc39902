import { Injectable } from '@nestjs/common';
import { Env } from '../config/env.schema';

/** Addresses remembered at most; beyond it the ones with a full allowance are forgotten. */
const MAX_ADDRESSES = 10_000;

interface Allowance {
  left: number;
  at: number;
}

/**
 * Slows a token guesser: each client address may fail authentication AUTH_FAILURES_PER_MINUTE
 * times in a burst, refilled evenly over a minute; an address with none left is answered 429
 * without its token being looked at. Per instance, in memory: enough to make guessing cost
 * minutes per few dozen tries, without a shared store on the hot path.
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly perMinute: number;
  private readonly allowances = new Map<string, Allowance>();

  constructor(env: Env) {
    this.perMinute = env.AUTH_FAILURES_PER_MINUTE;
  }

  /** Seconds until `address` may try again; 0 when it may now. */
  retryAfter(address: string): number {
    const allowance = this.current(address);
    if (!allowance || allowance.left >= 1) return 0;
    return Math.ceil(((1 - allowance.left) * 60) / this.perMinute);
  }

  /** One failed authentication from `address`. */
  failed(address: string): void {
    const allowance = this.current(address) ?? { left: this.perMinute, at: Date.now() };
    allowance.left -= 1;
    if (!this.allowances.has(address) && this.allowances.size >= MAX_ADDRESSES) this.prune();
    this.allowances.set(address, allowance);
  }

  /** The address's allowance refilled up to now; undefined when it has a full one. */
  private current(address: string): Allowance | undefined {
    const allowance = this.allowances.get(address);
    if (!allowance) return undefined;
    const now = Date.now();
    allowance.left = Math.min(
      this.perMinute,
      allowance.left + ((now - allowance.at) / 60_000) * this.perMinute,
    );
    allowance.at = now;
    if (allowance.left >= this.perMinute) {
      this.allowances.delete(address);
      return undefined;
    }
    return allowance;
  }

  private prune(): void {
    for (const address of [...this.allowances.keys()]) this.current(address);
    if (this.allowances.size < MAX_ADDRESSES) return;
    // Still full of failing addresses: forget the oldest half rather than grow without bound.
    const oldest = [...this.allowances].sort(([, a], [, b]) => a.at - b.at);
    for (const [address] of oldest.slice(0, MAX_ADDRESSES / 2)) this.allowances.delete(address);
  }
}
