import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeWebhookSignature, findSigningSecret } from './webhook-signature';
import {
  decodeBase64Strict,
  decodeWebhookData,
  UndecodableWebhookError,
} from './webhook-data-codec';
import { parseWebhookSecrets } from './webhook-secrets';
import { parseTencentEvent } from './tencent-event.parser';

interface Vectors {
  webhook_plain: {
    token: string;
    timestamp: string;
    nonce: string;
    data: string;
    signature: string;
  };
  webhook_aes: {
    token: string;
    encoding_aes_key: string;
    timestamp: string;
    nonce: string;
    data: string;
    plaintext: string;
    signature: string;
  };
}

const vectors = JSON.parse(
  readFileSync(join(__dirname, '../../test/fixtures/vectors.json'), 'utf8'),
) as Vectors;

describe('webhook signature and decoding (Tencent test vectors)', () => {
  it('signs the plain-mode example as the official doc does', () => {
    const v = vectors.webhook_plain;
    expect(computeWebhookSignature(v.token, v.timestamp, v.nonce, v.data)).toBe(v.signature);
  });

  it('decodes the unpadded 667-character example to an old-shape meeting.created', () => {
    const v = vectors.webhook_plain;
    expect(v.data).toHaveLength(667);
    const [secret] = parseWebhookSecrets(v.token);
    const { event } = parseTencentEvent(decodeWebhookData(v.data, secret));
    expect(event.event).toBe('meeting.created');
    expect(event.uniqueSequence).toBe('f20096ee-8ac8-4df2-a7de-0574649f211b');
    expect(event.items[0].meeting.meetingId).toBe('6058890385480921052');
    expect(event.items[0].meeting.creatorUserId).toBe('tester00006ba5bab339858c13c930cca95684');
    // "2020-12-29 17:41:06" is UTC+8.
    expect(event.items[0].operateTime?.toISOString()).toBe('2020-12-29T09:41:06.000Z');
  });

  it('signs and decrypts the AES-mode vector', () => {
    const v = vectors.webhook_aes;
    expect(computeWebhookSignature(v.token, v.timestamp, v.nonce, v.data)).toBe(v.signature);
    const [secret] = parseWebhookSecrets(v.token, v.encoding_aes_key);
    expect(decodeWebhookData(v.data, secret)).toBe(v.plaintext);
  });

  it('accepts the second of two rotated tokens and rejects a wrong one', () => {
    const v = vectors.webhook_aes;
    const secrets = parseWebhookSecrets(
      `oldtoken00000000000000000,${v.token}`,
      `,${v.encoding_aes_key}`,
    );
    const headers = { timestamp: v.timestamp, nonce: v.nonce, signature: v.signature };
    expect(findSigningSecret(secrets, headers, v.data)).toBe(secrets[1]);
    const wrong = parseWebhookSecrets('wrongtoken000000000000000', v.encoding_aes_key);
    expect(findSigningSecret(wrong, headers, v.data)).toBeNull();
    expect(findSigningSecret(secrets, { ...headers, nonce: '1' }, v.data)).toBeNull();
  });

  it('fails with a clear error when the AES key is wrong', () => {
    const v = vectors.webhook_aes;
    const [secret] = parseWebhookSecrets(v.token, 'BAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
    expect(() => decodeWebhookData(v.data, secret)).toThrow(
      new UndecodableWebhookError(
        'data could not be decrypted with the configured EncodingAESKey (wrong key?)',
      ),
    );
  });

  it('decodes base64 with or without padding, keeping "+" and "/"', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x01]);
    expect(bytes.toString('base64')).toBe('+/+/AQ==');
    expect(decodeBase64Strict('+/+/AQ==')).toEqual(bytes);
    expect(decodeBase64Strict('+/+/AQ')).toEqual(bytes);
    expect(() => decodeBase64Strict('+/ +/AQ')).toThrow('data is not valid base64');
    expect(() => decodeBase64Strict('abcde')).toThrow('data is not valid base64');
  });

  it.each([
    ['URL-safe alphabet', '-_-_AQ=='],
    ['a character outside the alphabet', '+/+*AQ=='],
    ['padding in the middle', '+/=/AQ=='],
    ['three padding characters', '+/+/A==='],
    ['a non-ASCII character', '+/+/AQé='],
  ])('refuses %s', (_, text) => {
    expect(() => decodeBase64Strict(text)).toThrow('data is not valid base64');
  });
});
