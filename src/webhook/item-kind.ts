import type { TencentEvent, TencentEventItem } from './tencent-event.parser';

type ItemKind = 'started' | 'ended' | 'canceled' | 'joined' | 'left' | 'callout';

const LIFECYCLE: Record<string, ItemKind> = {
  'meeting.started': 'started',
  'meeting.end': 'ended',
  'meeting.canceled': 'canceled',
};
const PSTN_INSTANCE_ID = '0';

/** Which rule applies to an item; null: the item changes nothing beyond the stored event. */
export function kindOf(event: string, item: TencentEventItem): ItemKind | null {
  if (event in LIFECYCLE) return LIFECYCLE[event];
  if (event === 'meeting.phone.participant-status-updated') return 'callout';
  const phone = item.operator.instanceId === PSTN_INSTANCE_ID && item.operator.msOpenId !== null;
  if (event === 'meeting.participant-joined' && phone) return 'joined';
  if (event === 'meeting.participant-left' && phone) return 'left';
  return null;
}

/**
 * False when no item of the event changes meetings or phone callers: most events (app users
 * joining and leaving, say) are stored and marked processed without being read again.
 */
export function affectsTracking(event: TencentEvent): boolean {
  return event.items.some((item) => kindOf(event.event, item) !== null && item.meeting.meetingId);
}
