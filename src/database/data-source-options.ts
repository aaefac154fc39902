import type { DataSourceOptions } from 'typeorm';
import { CreateWebhookEvents1764000000000 } from '../../migrations/1764000000000-CreateWebhookEvents';
import { CreatePstnTracking1764000100000 } from '../../migrations/1764000100000-CreatePstnTracking';
import { CreateApiClients1764000200000 } from '../../migrations/1764000200000-CreateApiClients';
import { CheaperWebhookEventProcessing1764000300000 } from '../../migrations/1764000300000-CheaperWebhookEventProcessing';
import { WebhookEventsAreTheQueue1764000400000 } from '../../migrations/1764000400000-WebhookEventsAreTheQueue';
import { BoundTrackedNumbers1764000500000 } from '../../migrations/1764000500000-BoundTrackedNumbers';
import { AddPhoneCallerControl1764000600000 } from '../../migrations/1764000600000-AddPhoneCallerControl';
import { RecordRosterRepairs1764000700000 } from '../../migrations/1764000700000-RecordRosterRepairs';
import { ApiClient } from '../auth/api-client.entity';
import { ControlActionRecord } from '../control/control-action.entity';
import { ServiceHeartbeatRow } from '../reconciliation/service-heartbeat.entity';
import { MsOpenIdMapping } from '../resolution/ms-open-id-mapping.entity';
import { ResolutionAttempt } from '../resolution/resolution-attempt.entity';
import { Meeting } from '../tracking/meeting.entity';
import { PstnEvent } from '../tracking/pstn-event.entity';
import { PstnParticipant } from '../tracking/pstn-participant.entity';
import { TrackedNumber } from '../tracking/tracked-number.entity';
import { WebhookEvent } from '../queue/webhook-event.entity';

export const entities = [
  WebhookEvent,
  Meeting,
  PstnParticipant,
  PstnEvent,
  TrackedNumber,
  MsOpenIdMapping,
  ResolutionAttempt,
  ApiClient,
  ControlActionRecord,
  ServiceHeartbeatRow,
];
export const migrations = [
  CreateWebhookEvents1764000000000,
  CreatePstnTracking1764000100000,
  CreateApiClients1764000200000,
  CheaperWebhookEventProcessing1764000300000,
  WebhookEventsAreTheQueue1764000400000,
  BoundTrackedNumbers1764000500000,
  AddPhoneCallerControl1764000600000,
  RecordRosterRepairs1764000700000,
];

/** The one place database options are built: the app, the migration CLI and the tests use it. */
export function buildDataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'all',
    synchronize: false,
    // Failed queries reach their callers as errors; TypeORM's own logger would print their
    // parameters, which can be phone numbers, as plain text.
    logging: false,
    extra: {
      max: poolSize,
      // Fail fast when Postgres is unreachable so webhook intake can answer 503 within 2 s.
      connectionTimeoutMillis: 1000,
      application_name: 'pstn-tracker',
    },
  };
}
