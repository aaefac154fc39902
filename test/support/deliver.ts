import request from 'supertest';
import { expect } from 'vitest';
import type { TestApp } from './test-app';
import { AES_KEY, AES_TOKEN } from './test-app';
import { signedDelivery } from '../../tools/webhook-delivery';

/** Posts a plaintext event as Tencent would (signed, AES-encrypted) and expects it stored. */
export async function deliver(t: TestApp, plaintext: string): Promise<void> {
  const delivery = signedDelivery(AES_TOKEN, plaintext, AES_KEY);
  const res = await request(t.app.getHttpServer())
    .post('/webhooks/tencent-meeting')
    .set(delivery.headers)
    .send({ data: delivery.data });
  expect(res.status).toBe(200);
}
