import { describe, expect, it } from 'vitest';
import { ResolutionQueue } from './resolution-queue';

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ResolutionQueue', () => {
  it('gives turns to urgent waiters first, the others in the order they came', async () => {
    const queue = new ResolutionQueue(1);
    const started: string[] = [];
    const ends = new Map<string, () => void>();
    const wait = (name: string, urgent = () => false) =>
      void queue.turn(urgent).then((end) => {
        started.push(name);
        ends.set(name, end);
      });

    let lookupWaits = false;
    wait('first');
    wait('second');
    wait('third', () => lookupWaits);
    await settle();
    expect(started).toEqual(['first']);

    // Urgency is read when a turn frees up: a waiter can become urgent while it waits.
    lookupWaits = true;
    ends.get('first')?.();
    await settle();
    expect(started).toEqual(['first', 'third']);
    ends.get('third')?.();
    await settle();
    expect(started).toEqual(['first', 'third', 'second']);
  });

  it('has at most `turns` turns out, and lets the next in when one ends', async () => {
    const queue = new ResolutionQueue(2);
    const [endFirst] = await Promise.all([queue.turn(() => false), queue.turn(() => false)]);
    let third = false;
    void queue.turn(() => false).then(() => (third = true));
    await settle();
    expect(third).toBe(false);
    endFirst();
    await settle();
    expect(third).toBe(true);
  });
});
