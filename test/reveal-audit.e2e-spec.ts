import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deliver } from './support/deliver';
import { ADMIN_TOKEN, startTestApp, testEnv, type TestApp } from './support/test-app';
import { createTestDatabase, dropTestDatabase } from './support/test-database';
import { buildEvent } from './support/webhook-fixtures';

let databaseUrl: string;
let t: TestApp;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  // At warn, as operators run it: a reveal must still be audited.
  t = await startTestApp(testEnv(databaseUrl, { LOG_LEVEL: 'warn' }), {
    logDestination: {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    },
  });
});

afterAll(async () => {
  await t.close();
  await dropTestDatabase(databaseUrl);
});

const reveals = () => lines.filter((line) => line.context === 'Reveal');

it('audits a reveal that answered, at warn, and no reveal that was refused', async () => {
  const meetingId = String(10n ** 19n + 7n);
  await deliver(t, buildEvent('meeting.started', { meetingId }));
  await expect
    .poll(
      async () =>
        (await t.db.query(`SELECT 1 FROM meetings WHERE meeting_id = $1`, [meetingId])).length,
    )
    .toBe(1);
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const http = () => request(t.app.getHttpServer());

  expect((await http().get('/admin/meetings/1?reveal=true').set(admin)).status).toBe(404);
  expect((await http().get(`/admin/meetings/${meetingId}?reveal=true`)).status).toBe(401);
  expect(reveals()).toEqual([]);

  expect((await http().get(`/admin/meetings/${meetingId}?reveal=true`).set(admin)).status).toBe(
    200,
  );
  expect(reveals()).toHaveLength(1);
  expect(reveals()[0]).toMatchObject({
    level: 40,
    client: 'ADMIN_TOKEN',
    msg: 'phone numbers revealed to "ADMIN_TOKEN" on GET /admin/meetings/:meetingId',
  });
  // Masked views are not audited.
  expect((await http().get(`/admin/meetings/${meetingId}`).set(admin)).status).toBe(200);
  expect(reveals()).toHaveLength(1);
});
