import { plainToInstance, Transform } from 'class-transformer';
import {
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
  if (errors.length > 0) {
    const lines = errors.map(
      (error) => `  ${error.property}: ${Object.values(error.constraints ?? {}).join('; ')}`,
    );
    throw new Error(`Invalid environment (see .env.example):\n${lines.join('\n')}`);
  }
  return env;
}
