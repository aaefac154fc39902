import { createDecipheriv } from 'node:crypto';
import type { AesKey, WebhookSecret } from './webhook-secrets';

/** The `data` (or `check_str`) could not be turned into text: a 400, never stored. */
export class UndecodableWebhookError extends Error {}

const PAD = 61; // '='

/**
 * Decodes standard base64 with or without padding (Tencent's own example is unpadded).
 * Rejects anything else instead of silently skipping characters as Buffer.from does: a
 * skipped character (or an early '=') makes the output shorter than the input's length
 * promises, and the URL-safe '-' and '_', which Buffer.from would accept, are refused.
 */
export function decodeBase64Strict(text: string): Buffer {
  const compact = text.trim();
  let end = compact.length;
  if (compact.charCodeAt(end - 1) === PAD) end -= 1;
  if (compact.charCodeAt(end - 1) === PAD) end -= 1;
  const body = compact.slice(0, end);
  const bytes =
    body.length % 4 === 1 || body.includes('-') || body.includes('_')
      ? null
      : Buffer.from(body, 'base64');
  if (!bytes || bytes.length !== Math.floor((body.length * 3) / 4)) {
    throw new UndecodableWebhookError('data is not valid base64');
  }
  return bytes;
}

/** AES-256-CBC, IV = first 16 bytes of the key, PKCS#7 padding; no WeCom-style framing. */
export function decryptWebhookData(ciphertext: Buffer, { key, iv }: AesKey): Buffer {
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw new UndecodableWebhookError('encrypted data is not a whole number of AES blocks');
  }
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new UndecodableWebhookError(
      'data could not be decrypted with the configured EncodingAESKey (wrong key?)',
    );
  }
}

/** Turns a verified `data` or `check_str` into its plaintext for the secret that signed it. */
export function decodeWebhookData(data: string, secret: WebhookSecret): string {
  const bytes = decodeBase64Strict(data);
  const plain = secret.aesKey ? decryptWebhookData(bytes, secret.aesKey) : bytes;
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    return text.decode(plain);
  } catch {
    throw new UndecodableWebhookError('decoded data is not UTF-8 text');
  }
}
