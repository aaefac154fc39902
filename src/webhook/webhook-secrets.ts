import { createSecretKey, type KeyObject } from 'node:crypto';

/** The AES key and IV of an EncodingAESKey, made once: creating a key object per event costs. */
export interface AesKey {
  key: KeyObject;
  iv: Buffer;
}

/** A configured (token, EncodingAESKey) pair; `aesKey` null means plain base64 mode. */
export interface WebhookSecret {
  token: string;
  aesKey: AesKey | null;
}

/**
 * Pairs `TENCENT_WEBHOOK_TOKEN` with `TENCENT_WEBHOOK_AES_KEY` by position: key i belongs to
 * token i, and an empty or missing position means plain mode for that token.
 */
export function parseWebhookSecrets(tokens: string, aesKeys = ''): WebhookSecret[] {
  const keys = aesKeys.split(',');
  return tokens.split(',').map((token, index) => ({
    token,
    aesKey: keys[index] ? aesKey(keys[index]) : null,
  }));
}

/** The key is the decoded EncodingAESKey, the IV its first 16 bytes. */
function aesKey(encodingAesKey: string): AesKey {
  const bytes = aesKeyBytes(encodingAesKey);
  return { key: createSecretKey(bytes), iv: bytes.subarray(0, 16) };
}

/** Tencent's EncodingAESKey is 43 base64 characters; with "=" appended it decodes to 32 bytes. */
export function aesKeyBytes(encodingAesKey: string): Buffer {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (key.length !== 32) {
    throw new Error('An EncodingAESKey must decode to 32 bytes');
  }
  return key;
}
