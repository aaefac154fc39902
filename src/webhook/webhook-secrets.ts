/** A configured (token, EncodingAESKey) pair; `aesKey` null means plain base64 mode. */
export interface WebhookSecret {
  token: string;
  aesKey: Buffer | null;
}

/**
 * Pairs `TENCENT_WEBHOOK_TOKEN` with `TENCENT_WEBHOOK_AES_KEY` by position: key i belongs to
 * token i, and an empty or missing position means plain mode for that token.
 */
export function parseWebhookSecrets(tokens: string, aesKeys = ''): WebhookSecret[] {
  const keys = aesKeys.split(',');
  return tokens.split(',').map((token, index) => ({
    token,
    aesKey: keys[index] ? aesKeyBytes(keys[index]) : null,
  }));
}

/** Tencent's EncodingAESKey is 43 base64 characters; with "=" appended it decodes to 32 bytes. */
export function aesKeyBytes(encodingAesKey: string): Buffer {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (key.length !== 32) {
    throw new Error('An EncodingAESKey must decode to 32 bytes');
  }
  return key;
}
