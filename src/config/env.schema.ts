import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MinLength,
  Min,
  validateSync,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

/** "true" and "false" (any case) become booleans; anything else stays and fails @IsBoolean. */
const toBool = ({ value }: { value: unknown }): unknown => {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : value;
  return text === 'true' ? true : text === 'false' ? false : value;
};

/**
 * Every environment variable the service reads, with its default. Checked once at boot;
 * `.env.example` documents each one.
 */
export class Env {
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/pstn_tracker';

  @Transform(toInt)
  @IsInt()
  @Min(2)
  DATABASE_POOL_SIZE = 10;

  /**
   * How long start-up keeps trying to reach Postgres (with backoff, logging each try) before it
   * gives up and exits non-zero: a database that starts after the service is normal.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  DATABASE_CONNECT_TIMEOUT_SECONDS = 60;

  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379/0';

  /** Comma-separated; more than one while a token is being rotated. */
  @Matches(/^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$/, {
    message: 'TENCENT_WEBHOOK_TOKEN must be one or more comma-separated alphanumeric tokens',
  })
  TENCENT_WEBHOOK_TOKEN: string;

  /** Comma-separated; position i belongs to token i; an empty position means plain mode. */
  @IsOptional()
  @Matches(/^([A-Za-z0-9]{43})?(,([A-Za-z0-9]{43})?)*$/, {
    message: 'TENCENT_WEBHOOK_AES_KEY must be comma-separated 43-character alphanumeric keys',
  })
  TENCENT_WEBHOOK_AES_KEY?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;

  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  TENCENT_API_BASE_URL = 'https://api.meeting.qq.com';

  @IsString()
  @MinLength(1)
  TENCENT_SECRET_ID: string;

  @IsString()
  @MinLength(1)
  TENCENT_SECRET_KEY: string;

  @IsString()
  @MinLength(1)
  TENCENT_APP_ID: string;

  @IsOptional()
  @IsString()
  TENCENT_SDK_ID?: string;

  @IsString()
  @MinLength(1)
  TENCENT_OPERATOR_ID: string;

  @Transform(toInt)
  @IsInt()
  TENCENT_OPERATOR_ID_TYPE = 1;

  @IsIn(['phone_number', 'phone'])
  TENCENT_PHONE_FIELD: 'phone_number' | 'phone' = 'phone_number';

  @IsString()
  @MinLength(32, { message: 'ADMIN_TOKEN must be at least 32 characters' })
  ADMIN_TOKEN: string;

  /** Timeout of one upstream attempt, in ms. */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  TENCENT_TIMEOUT_MS = 3000;

  /** Attempts per upstream call (the first one included). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10)
  TENCENT_MAX_ATTEMPTS = 4;

  /** Upstream calls per minute, shared by all replicas; Tencent allows the app 300. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(300)
  TENCENT_RATE_LIMIT_PER_MINUTE = 280;

  /** Calls that may go out at once above the steady rate (rate + burst stays within 300/min). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  TENCENT_RATE_LIMIT_BURST = 10;

  /** Keep retrying a meeting's unmapped phone callers for this long after they connected. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  RESOLVE_HORIZON_SECONDS = 600;

  /** Track a webhook's pstn_number when it parses as a full international number. */
  @Transform(toBool)
  @IsBoolean()
  TRACK_WEBHOOK_PSTN_NUMBERS = true;

  /**
   * Numbers tracked per meeting at most (a 409 beyond): each is asked of Tencent while a caller
   * of the meeting is unmapped, so a careless client could spend the shared budget on junk.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  TRACKED_NUMBERS_PER_MEETING = 500;

  /** Prefix of every Redis key, so several deployments (or test runs) can share one Redis. */
  @Matches(/^[A-Za-z0-9:_-]*$/, {
    message: 'REDIS_KEY_PREFIX may hold letters, digits, ":", "_", "-"',
  })
  REDIS_KEY_PREFIX = 'pstn:';

  /** Run the scheduled jobs from this replica; each tick still runs on one replica only. */
  @Transform(toBool)
  @IsBoolean()
  SCHEDULER_ENABLED = true;

  /** How often to look for meetings whose connected phone callers stay unmapped. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  RECONCILE_INTERVAL_SECONDS = 60;

  /**
   * A meeting is resolved again once a connected caller has been unmapped this long and no
   * ms-open-id call was made for it in as long (the resolver's own follow-ups come first).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  RECONCILE_AFTER_SECONDS = 120;

  /** Reconciliation also reads the meeting's callout list to track and map called numbers. */
  @Transform(toBool)
  @IsBoolean()
  RECONCILE_CALLOUTS = false;

  /**
   * How often the roster job looks for open meetings whose live roster is due a read from
   * Tencent (a failed read is tried again from here, backing off up to ROSTER_INTERVAL_SECONDS).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  ROSTER_TICK_SECONDS = 10;

  /** Rosters read per tick at most; the rest wait for the next ticks. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  ROSTER_MEETINGS_PER_TICK = 50;

  /** An open meeting with a connected phone caller has its roster read this often. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  ROSTER_INTERVAL_SECONDS = 300;

  /**
   * A meeting with a connected phone caller and no webhook for this long has its roster read
   * once (webhooks may be failing while the service is up).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  ROSTER_GAP_SECONDS = 120;

  /**
   * Tencent's roster and its webhooks disagree for a moment around every join and leave: a
   * caller is added only once Tencent's join time is this old, and marked left only when a read
   * this long after the first that lacked it still lacks it, so that a webhook in flight wins.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  ROSTER_GRACE_SECONDS = 60;

  /**
   * No replica alive for this long counts as downtime (every replica refreshes a heartbeat row
   * three times as often): webhooks may have been lost, so every open meeting seen before it has
   * its roster read when the service is back.
   */
  @Transform(toInt)
  @IsInt()
  @Min(3)
  DOWNTIME_AFTER_SECONDS = 60;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  STALE_MEETING_INTERVAL_SECONDS = 600;

  /** A meeting with no event for this long is closed as if it had ended. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  STALE_MEETING_AFTER_HOURS = 24;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  RETENTION_INTERVAL_SECONDS = 3600;

  /**
   * Webhook events, phone events, resolution attempts, tracked numbers and the record of
   * control actions older than this are deleted.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  RETENTION_DAYS = 30;

  /** Attempts at applying a stored event before it is left for an operator as `dead`. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  QUEUE_MAX_ATTEMPTS = 6;

  /**
   * A request (headers and body) that has not fully arrived this long after it began is
   * answered 408 and its connection closed. Tencent gives up on a delivery after 5 s.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  HTTP_REQUEST_TIMEOUT_MS = 10_000;

  /** The request line and headers must arrive within this (at most the request timeout). */
  @Transform(toInt)
  @IsInt()
  @Min(500)
  HTTP_HEADERS_TIMEOUT_MS = 5_000;

  /**
   * A connection with no traffic this long is closed: between keep-alive requests, or a stream
   * (event streams send a heartbeat every 15 s, so keep this above that).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  HTTP_IDLE_TIMEOUT_MS = 65_000;

  /**
   * Behind a load balancer or proxy: trust its X-Forwarded-For for the client address (used to
   * limit failed authentications per address). Off: the address is the connection's peer.
   */
  @Transform(toBool)
  @IsBoolean()
  TRUST_PROXY = false;

  /** Concurrent participant event streams one API client may hold open (429 beyond). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  SSE_MAX_STREAMS_PER_CLIENT = 50;

  /** Concurrent participant event streams per instance, all clients together (429 beyond). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  SSE_MAX_STREAMS = 2_000;

  /**
   * Failed authentications one client address may make per minute before it is answered 429
   * (a burst of this many, then refilled evenly over the minute).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  AUTH_FAILURES_PER_MINUTE = 30;
}

/** Parses and checks the environment; throws one error that lists every bad variable. */
export function validateEnv(raw: Record<string, string | undefined>): Env {
  const known = new Set(Object.keys(new Env()));
  const defined = Object.fromEntries(
    Object.entries(raw).filter(
      ([key, value]) => known.has(key) && value !== undefined && value !== '',
    ),
  );
  const env = plainToInstance(Env, defined, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: true });
  const lines = errors.map(
    (error) => `  ${error.property}: ${Object.values(error.constraints ?? {}).join('; ')}`,
  );
  const placeholder = placeholderAgainstTencent(env);
  if (placeholder) lines.push(`  ${placeholder}`);
  if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
    lines.push('  HTTP_HEADERS_TIMEOUT_MS: must not be longer than HTTP_REQUEST_TIMEOUT_MS');
  }
  // Node looks for late requests once a second: a connection closed as idle before that would
  // cut a slow request without its 408.
  if (env.HTTP_IDLE_TIMEOUT_MS <= env.HTTP_REQUEST_TIMEOUT_MS + 1000) {
    lines.push(
      '  HTTP_IDLE_TIMEOUT_MS: must be more than 1000 ms longer than HTTP_REQUEST_TIMEOUT_MS',
    );
  }
  if (lines.length > 0) {
    throw new Error(`Invalid environment (see .env.example):\n${lines.join('\n')}`);
  }
  return env;
}

/** The credentials .env.example ships with: placeholders, never an app's. */
const PLACEHOLDER = /^dev-/;

/**
 * The example's placeholder credentials sent to the real Tencent would be signed calls to
 * production with nonsense keys: refused at boot, with what to do instead.
 */
function placeholderAgainstTencent(env: Env): string | null {
  let host: string;
  try {
    host = new URL(env.TENCENT_API_BASE_URL).hostname;
  } catch {
    return null;
  }
  const placeholders = (
    ['TENCENT_SECRET_ID', 'TENCENT_SECRET_KEY', 'TENCENT_APP_ID'] as const
  ).filter((name) => PLACEHOLDER.test(env[name] ?? ''));
  if (!host.endsWith('meeting.qq.com') || placeholders.length === 0) return null;
  return (
    `TENCENT_API_BASE_URL: ${host} is the real Tencent API, but ${placeholders.join(', ')} ` +
    "still hold the placeholders of .env.example: set your app's credentials, or point " +
    'TENCENT_API_BASE_URL at the fake Tencent (npm run dev starts one)'
  );
}
