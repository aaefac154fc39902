import { describe, expect, it } from 'vitest';
import { validateEnv } from './env.schema';

const REQUIRED = {
  TENCENT_WEBHOOK_TOKEN: 'token00000000000000000000',
  TENCENT_SECRET_ID: 'AKIDrealsecretid',
  TENCENT_SECRET_KEY: 'realsecretkey',
  TENCENT_APP_ID: '200000001',
  TENCENT_OPERATOR_ID: 'host-1',
  ADMIN_TOKEN: 'a-real-admin-token-of-32-characters-or-more',
};

describe('validateEnv', () => {
  it('refuses the example placeholders against the real Tencent, naming what to do', () => {
    expect(() =>
      validateEnv({
        ...REQUIRED,
        TENCENT_SECRET_ID: 'dev-secret-id',
        TENCENT_APP_ID: 'dev-app-id',
        TENCENT_API_BASE_URL: 'https://api.meeting.qq.com',
      }),
    ).toThrow(
      'TENCENT_API_BASE_URL: api.meeting.qq.com is the real Tencent API, but TENCENT_SECRET_ID, ' +
        'TENCENT_APP_ID still hold the placeholders of .env.example',
    );
    // The default base URL is the real one too.
    expect(() => validateEnv({ ...REQUIRED, TENCENT_SECRET_KEY: 'dev-secret-key' })).toThrow(
      'TENCENT_SECRET_KEY still hold',
    );
  });

  it('takes the placeholders against a fake Tencent, and real credentials against the real one', () => {
    const fake = validateEnv({
      ...REQUIRED,
      TENCENT_SECRET_ID: 'dev-secret-id',
      TENCENT_API_BASE_URL: 'http://127.0.0.1:4010',
    });
    expect(fake.TENCENT_SECRET_ID).toBe('dev-secret-id');
    expect(validateEnv(REQUIRED).TENCENT_API_BASE_URL).toBe('https://api.meeting.qq.com');
  });

  it('lists every bad variable in one message and reads booleans as booleans', () => {
    expect(() =>
      validateEnv({
        ...REQUIRED,
        TENCENT_API_BASE_URL: 'http://127.0.0.1:4010',
        PORT: 'eighty',
        SCHEDULER_ENABLED: 'yes',
        HTTP_REQUEST_TIMEOUT_MS: '2000',
        HTTP_HEADERS_TIMEOUT_MS: '3000',
      }),
    ).toThrow(
      /PORT: .*\n {2}SCHEDULER_ENABLED: .*\n {2}HTTP_HEADERS_TIMEOUT_MS: must not be longer than HTTP_REQUEST_TIMEOUT_MS/,
    );
    expect(() =>
      validateEnv({
        ...REQUIRED,
        TENCENT_API_BASE_URL: 'http://127.0.0.1:4010',
        HTTP_REQUEST_TIMEOUT_MS: '10000',
        HTTP_IDLE_TIMEOUT_MS: '11000',
      }),
    ).toThrow(
      /HTTP_IDLE_TIMEOUT_MS: must be more than 1000 ms longer than HTTP_REQUEST_TIMEOUT_MS/,
    );
    const env = validateEnv({
      ...REQUIRED,
      TENCENT_API_BASE_URL: 'http://127.0.0.1:4010',
      SCHEDULER_ENABLED: 'FALSE',
    });
    expect(env.SCHEDULER_ENABLED).toBe(false);
    expect(env.TRACK_WEBHOOK_PSTN_NUMBERS).toBe(true);
  });
});
