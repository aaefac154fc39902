import type { LookupItem, PhoneNumber, PstnTrackerApi } from './answers';
import { unwrap } from './pstn-tracker-error';

/** The longest `wait_ms` the drop-in lookup takes; longer waits ask again. */
const MAX_WAIT_MS = 30_000;

export interface CallerNumber {
  /** Country calling code; 86 when omitted. */
  area?: PhoneNumber['area'];
  /** The number without the country code; a digit string keeps a landline's trunk 0. */
  number: PhoneNumber['phone_number'];
}

/**
 * The number's connected caller (its ms_open_id) as soon as the service knows it, or null once
 * `timeoutMs` has passed without one. The service holds each lookup open until the caller is
 * resolved (it reacts to the meeting's events, it does not poll), so this asks once per 30 s.
 * Asking tracks the number: it resolves as soon as its call connects, in a meeting the service
 * has not seen yet too. Needs the `lookup` scope.
 */
export async function waitForCaller(
  api: PstnTrackerApi,
  meetingId: string,
  { area = 86, number }: CallerNumber,
  { timeoutMs }: { timeoutMs: number },
): Promise<LookupItem | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waitMs = Math.min(MAX_WAIT_MS, Math.max(0, deadline - Date.now()));
    const answer = await unwrap(
      api.POST('/v1/meetings/{meetingId}/phone/ms-open-id', {
        params: { path: { meetingId }, query: { wait_ms: String(waitMs) } },
        body: { phone_numbers: [{ area, phone_number: number }] },
      }),
    );
    const caller = answer.ms_open_id_list?.find((item) => item.status === 'connected');
    if (caller) return caller;
    if (Date.now() >= deadline) return null;
  }
}
