import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClientsService } from '../../src/auth/api-clients.service';
import type { FakeTencentServer } from '../../tools/fake-tencent/fake-tencent-server';
import { deliver } from '../support/deliver';
import type { TestApp } from '../support/test-app';
import { startTestStack, type TestStack } from '../support/test-stack';
import { buildEvent } from '../support/webhook-fixtures';
import { waitFor } from './scenario';
import { ensureServices, stopRedis } from './services';

const MEETING = '9400000000';
const CALLERS = 10;
const numberOf = (c: number) => `1360000${String(c).padStart(4, '0')}`;

let stack: TestStack;
let fake: FakeTencentServer;
let t: TestApp;
let token: string;

beforeAll(async () => {
  stack = await startTestStack({ SCHEDULER_ENABLED: 'false' });
  ({ fake, t } = stack);
  token = (await t.app.get(ApiClientsService).create('meeting-control', ['lookup'])).token;
  await deliver(t, buildEvent('meeting.started', { meetingId: MEETING }));
  for (let c = 0; c < CALLERS; c++) {
    fake.connect(MEETING, 86, numberOf(c), `caller-${c}`);
    await deliver(
      t,
      buildEvent('meeting.participant-joined', {
        meetingId: MEETING,
        msOpenId: `caller-${c}`,
        pstnNumber: `+86${numberOf(c)}`,
      }),
    );
  }
  await waitFor(
    async () =>
      (await t.db.query<{ n: string }[]>(`SELECT count(*) AS n FROM ms_open_id_mappings`))[0].n,
    String(CALLERS),
    20_000,
  );
});

afterAll(async () => {
  ensureServices();
  await stack?.close();
});

it('answers every lookup right and within 1 s while Redis stops and starts again', async () => {
  const wrong: string[] = [];
  const slowest = { ms: 0 };
  let lookups = 0;
  let running = true;
  const lane = async (lane: number) => {
    for (let i = lane; running; i++) {
      const c = i % CALLERS;
      const started = Date.now();
      const res = await request(t.app.getHttpServer())
        .post(`/v1/meetings/${MEETING}/phone/ms-open-id`)
        .set({ authorization: `Bearer ${token}` })
        .send({ phone_numbers: [{ area: 86, phone_number: numberOf(c) }] });
      slowest.ms = Math.max(slowest.ms, Date.now() - started);
      lookups += 1;
      const ids = (res.body as { ms_open_id_list?: { ms_open_id: string }[] }).ms_open_id_list;
      if (res.status !== 200 || ids?.length !== 1 || ids[0].ms_open_id !== `caller-${c}`) {
        wrong.push(`${res.status} ${JSON.stringify(res.body)}`);
      }
    }
  };
  const lanes = [0, 1, 2, 3].map(lane);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  stopRedis();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  ensureServices();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  running = false;
  await Promise.all(lanes);

  expect(lookups).toBeGreaterThan(100);
  expect(wrong).toEqual([]);
  expect(slowest.ms).toBeLessThan(1_000);
  // The cache is used again once Redis is back.
  const hits = async () =>
    Number(
      /pstn_cache_lookups_total\{result="hit"\} (\d+)/.exec(
        (await request(t.app.getHttpServer()).get('/metrics')).text,
      )?.[1],
    );
  const before = await hits();
  for (let i = 0; i < 3; i++) {
    await request(t.app.getHttpServer())
      .post(`/v1/meetings/${MEETING}/phone/ms-open-id`)
      .set({ authorization: `Bearer ${token}` })
      .send({ phone_numbers: [{ area: 86, phone_number: numberOf(0) }] });
  }
  expect(await hits()).toBeGreaterThan(before);
});
