import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { Env } from '../config/env.schema';
import { MeetingResolver } from '../resolution/meeting-resolver';
import { numberKey, type PhoneNumber } from '../tencent/phone-number';
import type { ParticipantStatus } from '../tracking/pstn-participant.entity';
import { LookupStore, type MeetingState, type ParticipantView } from './lookup.store';
import { MappingCache, type NumberIds } from './mapping.cache';
import { PstnEventStream } from './pstn-event.stream';
import { CACHE_UNAVAILABLE, PARTICIPANT_NOT_FOUND } from './lookup-answers';

/** How long a lookup waits for Tencent's answer before answering with what is known. */
const RESOLVE_WAIT_MS = 5_000;

/** Whether every number has a connected id: what a waiting lookup waits for. */
export function allConnected(answers: NumberIds[]): boolean {
  return answers.every((answer) => answer.ids.some((id) => id.status === 'connected'));
}

/**
 * Answers meeting-control services: number -> ids from the cache, else from Postgres (one read
 * per number however many ask at once), asking Tencent once when a meeting with a connected
 * caller has never resolved the number. A meeting no webhook has mentioned yet is not an error:
 * its numbers are tracked and resolve once their calls connect.
 */
@Injectable()
export class LookupService {
  private readonly inFlight = new Map<string, Promise<NumberIds>>();

  constructor(
    private readonly env: Env,
    private readonly store: LookupStore,
    private readonly cache: MappingCache,
    private readonly resolver: MeetingResolver,
    private readonly events: PstnEventStream,
  ) {}

  /**
   * Each number's ids, in the order asked; every number asked about becomes tracked. With
   * `waitMs`, answers as soon as every number has a connected id, or when the time is up.
   */
  lookup(meetingId: string, numbers: PhoneNumber[], waitMs = 0): Promise<NumberIds[]> {
    if (waitMs <= 0) return this.lookupNow(meetingId, numbers);
    return this.waitFor(meetingId, waitMs, () => this.lookupNow(meetingId, numbers), allConnected);
  }

  /**
   * Runs `read` now and again after each of the meeting's events (from any replica), until
   * `done` says its answer is the one awaited or `waitMs` has passed; answers the last read.
   * It reacts to the events the meeting's resolution produces: it does not poll.
   */
  async waitFor<T>(
    meetingId: string,
    waitMs: number,
    read: () => Promise<T>,
    done: (answer: T) => boolean,
  ): Promise<T> {
    /** Counts the meeting's events heard so far. */
    let heard = 0;
    let wake: (() => void) | undefined;
    const stopListening = this.events.listen(meetingId, () => {
      heard += 1;
      wake?.();
    });
    const deadline = Date.now() + waitMs;
    try {
      for (;;) {
        const before = heard;
        const answer = await read();
        const left = deadline - Date.now();
        if (done(answer) || left <= 0) return answer;
        if (heard === before) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, left);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      }
    } finally {
      stopListening();
    }
  }

  private async lookupNow(meetingId: string, numbers: PhoneNumber[]): Promise<NumberIds[]> {
    const cached = await this.cache.getNumbers(meetingId, numbers);
    if (cached.every((answer) => answer !== undefined)) return cached;
    await this.track(
      meetingId,
      numbers.filter((_, index) => cached[index] === undefined),
    );
    return Promise.all(
      numbers.map(async (number, index) => cached[index] ?? this.loadOnce(meetingId, number)),
    );
  }

  /** Registers numbers to resolve as soon as they connect; answers their current ids. */
  async register(meetingId: string, numbers: PhoneNumber[]): Promise<NumberIds[]> {
    await this.track(meetingId, numbers);
    const meeting = await this.store.meeting(meetingId);
    // A connected caller may be one of them already; otherwise they resolve when they connect.
    if (meeting.open && meeting.hasConnectedCaller) void this.resolver.request(meetingId, false);
    return Promise.all(numbers.map((number) => this.store.ids(meetingId, number)));
  }

  participants(meetingId: string, status: ParticipantStatus | 'all'): Promise<ParticipantView[]> {
    return this.store.participants(meetingId, status);
  }

  /** Which number this caller is; 404 when the meeting has no such caller. */
  async caller(meetingId: string, msOpenId: string): Promise<ParticipantView> {
    const cached = await this.cache.getCaller(meetingId, msOpenId);
    if (cached) return { msOpenId, ...cached };
    const caller = await this.store.caller(meetingId, msOpenId);
    if (!caller) {
      throw ApiError.of(404, PARTICIPANT_NOT_FOUND);
    }
    return caller;
  }

  /**
   * Drops a meeting's cache entries and fills them again from Postgres, for every number it
   * tracks or has mapped; answers how many numbers were cached.
   */
  async rebuildCache(meetingId: string): Promise<number> {
    if (!(await this.cache.invalidate(meetingId))) {
      throw ApiError.of(503, CACHE_UNAVAILABLE);
    }
    const generation = await this.cache.generation(meetingId);
    const meeting = await this.store.meeting(meetingId);
    const numbers = await this.store.knownNumbers(meetingId);
    for (const number of numbers) {
      await this.fill(
        meetingId,
        generation,
        meeting,
        number,
        await this.store.ids(meetingId, number),
      );
    }
    return numbers.length;
  }

  /** Tracks the numbers; 409 when the meeting would track more than TRACKED_NUMBERS_PER_MEETING. */
  async track(meetingId: string, numbers: PhoneNumber[]): Promise<void> {
    if (numbers.length === 0) return;
    const limit = this.env.TRACKED_NUMBERS_PER_MEETING;
    if (!(await this.store.track(meetingId, numbers, limit))) {
      throw new ApiError(
        409,
        'too_many_tracked_numbers',
        `a meeting tracks at most ${limit} numbers; this one would track more`,
      );
    }
  }

  private loadOnce(meetingId: string, number: PhoneNumber): Promise<NumberIds> {
    const key = `${meetingId}|${numberKey(number)}`;
    let load = this.inFlight.get(key);
    if (!load) {
      load = this.load(meetingId, number).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, load);
    }
    return load;
  }

  private async load(meetingId: string, number: PhoneNumber): Promise<NumberIds> {
    const generation = await this.cache.generation(meetingId);
    const meeting = await this.store.meeting(meetingId);
    let ids = await this.store.ids(meetingId, number);
    if (ids.ids.length === 0 && meeting.open && meeting.hasConnectedCaller) {
      await Promise.race([
        this.resolver.request(meetingId, true, { waiting: 'lookup' }),
        new Promise((resolve) => setTimeout(resolve, RESOLVE_WAIT_MS).unref()),
      ]);
      ids = await this.store.ids(meetingId, number);
    }
    await this.fill(meetingId, generation, meeting, number, ids);
    return ids;
  }

  /** Caches what Postgres said about the number, with its callers, unless it changed since. */
  private async fill(
    meetingId: string,
    generation: string | null,
    meeting: MeetingState,
    number: PhoneNumber,
    ids: NumberIds,
  ): Promise<void> {
    const callers = await this.store.mappedCallers(
      meetingId,
      ids.ids.map((id) => id.msOpenId),
    );
    await this.cache.fill(meetingId, generation, meeting.endedAt, number, ids, callers);
  }
}
