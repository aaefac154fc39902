import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTencentHeaders } from '../src/tencent/tencent-request-signer';
import { FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';

const credentials = { secretId: 'sid', secretKey: 'skey', appId: 'app' };

/** The fake must catch a badly signed request, or the suites' "no bad signature" proves nothing. */
describe('fake Tencent server', () => {
  const fake = new FakeTencentServer(credentials);
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = await fake.start();
    fake.connect('m1', 86, '13800000000', 'id-1');
  });
  afterAll(() => fake.close());

  const call = (
    headers: Record<string, string>,
    body: string,
    uri = '/v1/meetings/m1/phone/ms-open-id',
  ) => fetch(`${baseUrl}${uri}`, { method: 'POST', headers, body });
  const body = JSON.stringify({
    operator_id: 'op',
    operator_id_type: 1,
    phone_numbers: [{ area: 86, phone_number: 13800000000 }],
  });
  const requestUri = '/v1/meetings/m1/phone/ms-open-id';

  it('answers a well-signed request for a connected number', async () => {
    const res = await call(
      buildTencentHeaders(credentials, { method: 'POST', requestUri, body }),
      body,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      meeting_id: 'm1',
      ms_open_id_list: [{ area: 86, phone_number: 13800000000, ms_open_id: 'id-1' }],
    });
  });

  it('rejects a wrong signature, a tampered body and a replayed nonce', async () => {
    const before = fake.badSignatureCount;
    const headers = buildTencentHeaders(
      { ...credentials, secretKey: 'wrong' },
      { method: 'POST', requestUri, body },
    );
    const forged = await call(headers, body);
    expect(forged.status).toBe(400);
    expect(
      ((await forged.json()) as { error_info: { error_code: number } }).error_info.error_code,
    ).toBe(200003);

    const good = buildTencentHeaders(credentials, { method: 'POST', requestUri, body });
    expect((await call(good, body.replace('13800000000', '13800000001'))).status).toBe(400);
    expect((await call(good, body)).status).toBe(200);
    const replay = await call(good, body);
    expect(
      ((await replay.json()) as { error_info: { error_code: number } }).error_info.error_code,
    ).toBe(190301);
    expect(fake.badSignatureCount).toBe(before + 3);
  });
});

/**
 * The roster and meeting control must behave like Tencent's, or a suite that repairs the
 * service's picture from the roster, or acts on callers, proves nothing about the real thing.
 */
describe('fake Tencent roster and meeting control', () => {
  const fake = new FakeTencentServer({ ...credentials, operatorId: 'host' });
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = await fake.start();
  });
  afterAll(() => fake.close());

  const send = async (method: string, uri: string, body = '', signing = credentials) => {
    const res = await fetch(`${baseUrl}${uri}`, {
      method,
      headers: buildTencentHeaders(signing, { method, requestUri: uri, body }),
      body: body || undefined,
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const query = 'operator_id=host&operator_id_type=1&page=1&page_size=50';
  const roster = (meetingId: string, q = query) =>
    send('GET', `/v1/meetings/${meetingId}/real-time-participants?${q}`);
  const control = (meetingId: string, action: 'mutes' | 'kickout' | 'names', body: object) =>
    send('PUT', `/v1/real-control/meetings/${meetingId}/${action}`, JSON.stringify(body));

  const operator = { operator_id: 'host', operator_id_type: 1, instanceid: 1 };
  const target = (msOpenId: string) => ({
    to_operator_id: msOpenId,
    to_operator_id_type: 4,
    instanceid: 0,
  });
  const mute = (msOpenId: string, muted = true) => ({
    ...operator,
    mute: muted,
    user: target(msOpenId),
  });
  const kick = (...ids: string[]) => ({ ...operator, allow_rejoin: false, users: ids.map(target) });
  const rename = (names: Record<string, string>) => ({
    ...operator,
    users: Object.entries(names).map(([id, nick]) => ({
      ms_open_id: id,
      instanceid: 0,
      nick_name: nick,
    })),
  });

  const ok = { status: 200, body: {} };
  const tencentError = (code: number, message: string) => ({
    status: 400,
    body: { error_info: { error_code: code, new_error_code: code, message } },
  });
  const invalid = tencentError(190004, 'invalid parameters');
  const notInMeeting = tencentError(190004, 'user not in meeting');
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  const inMeeting = (nickName: string, muted = false) => ({
    connected: true,
    muted,
    nickName,
    instanceid: 0,
    kicked: false,
    allowRejoin: null,
  });
  const phoneParticipant = (msOpenId: string, name: string, joinTime: number, muted = false) => ({
    userid: '',
    open_id: '',
    ms_open_id: msOpenId,
    user_name: base64(name),
    instanceid: 0,
    join_time: String(joinTime),
    join_type: 0,
    user_role: 0,
    audio_state: !muted,
    video_state: false,
    screen_shared_state: false,
    app_version: '',
  });
  /** A roster answer of a meeting the fake knows; its code and schedule are its own. */
  const rosterAnswer = (meetingId: string, fields: object) => ({
    status: 200,
    body: {
      meeting_id: meetingId,
      meeting_code: expect.stringMatching(/^\d{9}$/),
      subject: base64(`meeting ${meetingId}`),
      schedule_start_time: expect.stringMatching(/^\d{10}$/),
      schedule_end_time: expect.stringMatching(/^\d{10}$/),
      status: 'MEETING_STATE_STARTED',
      current_page: 1,
      ...fields,
    },
  });
  const listed = (answer: { body: unknown }, field: 'ms_open_id' | 'user_name' = 'ms_open_id') =>
    (answer.body as { participants: Record<string, unknown>[] }).participants.map((p) => p[field]);
  const since = Math.floor(Date.now() / 1000) - 3600;
  const joinedAt = (offset: number) => ({ joinTime: new Date((since + offset) * 1000) });

  describe('real-time participants', () => {
    it('pages through the live roster in join order: page 2 of 60 callers holds the last 10', async () => {
      for (let i = 1; i <= 60; i += 1) {
        const digits = String(i).padStart(4, '0');
        fake.connect('big', 86, `1380000${digits}`, `id-${i}`, joinedAt(i));
      }
      const first = await roster('big');
      expect(listed(first)).toEqual(Array.from({ length: 50 }, (_, i) => `id-${i + 1}`));
      const second = await roster('big', query.replace('page=1', 'page=2'));
      expect(second).toEqual(
        rosterAnswer('big', {
          current_page: 2,
          current_size: 10,
          total_count: 60,
          total_page: 2,
          participants: Array.from({ length: 10 }, (_, i) =>
            phoneParticipant(`id-${i + 51}`, `138****00${i + 51}`, since + i + 51),
          ),
        }),
      );
    });

    it('lists app participants beside phone callers, and a muted caller with its mic off', async () => {
      fake.connect('mixed', 86, '13900000001', 'phone-1', { ...joinedAt(1), nickName: 'Ann' });
      fake.joinApp('mixed', 'app-1', 3);
      expect(await control('mixed', 'mutes', mute('phone-1'))).toEqual(ok);

      const answer = await roster('mixed');
      expect((answer.body as { participants: unknown[] }).participants).toEqual([
        phoneParticipant('phone-1', 'Ann', since + 1, true),
        {
          userid: '',
          open_id: '',
          ms_open_id: 'app-1',
          user_name: base64('participant'),
          instanceid: 3,
          join_time: expect.stringMatching(/^\d{10}$/),
          join_type: 1,
          user_role: 0,
          audio_state: true,
          video_state: false,
          screen_shared_state: false,
          app_version: '3.0.0',
        },
      ]);
      expect(fake.roster('mixed').map((p) => [p.msOpenId, p.instanceid, p.muted])).toEqual([
        ['phone-1', 0, true],
        ['app-1', 3, false],
      ]);
    });

    it('shows an ended meeting as ended and empty, and a caller who left as gone', async () => {
      fake.connect('ending', 86, '13900000002', 'stays');
      fake.connect('ending', 86, '13900000003', 'leaves');
      fake.disconnect('ending', 'leaves');
      expect(listed(await roster('ending'))).toEqual(['stays']);
      expect(fake.roster('ending').map((p) => p.msOpenId)).toEqual(['stays']);

      fake.endMeeting('ending');
      expect(await roster('ending')).toEqual(
        rosterAnswer('ending', {
          status: 'MEETING_STATE_ENDED',
          current_size: 0,
          total_count: 0,
          total_page: 0,
          participants: [],
        }),
      );
      expect(fake.participant('ending', 'stays')).toEqual({
        ...inMeeting('139****0002'),
        connected: false,
      });
    });

    it('keeps a departed caller in the ms-open-id history, as Tencent answers history', async () => {
      fake.connect('history', 86, '13900000004', 'gone');
      fake.disconnect('history', 'gone');
      fake.disconnect('history', 'gone');
      const body = JSON.stringify({
        operator_id: 'host',
        operator_id_type: 1,
        phone_numbers: [{ area: 86, phone_number: '13900000004' }],
      });
      expect(await send('POST', '/v1/meetings/history/phone/ms-open-id', body)).toEqual({
        status: 200,
        body: {
          meeting_id: 'history',
          ms_open_id_list: [{ area: 86, phone_number: '13900000004', ms_open_id: 'gone' }],
        },
      });
      expect(() => fake.disconnect('history', 'never-joined')).toThrow(
        'never-joined never joined meeting history',
      );
    });

    it('answers a meeting it never heard of as not started, or as not found when told to', async () => {
      expect(await roster('unheard-of')).toEqual({
        status: 200,
        body: {
          meeting_id: 'unheard-of',
          status: 'MEETING_STATE_INIT',
          current_page: 1,
          current_size: 0,
          total_count: 0,
          total_page: 0,
          participants: [],
        },
      });
      const strict = new FakeTencentServer({ ...credentials, unknownMeetingRoster: 'not-found' });
      const url = await strict.start();
      try {
        const uri = `/v1/meetings/unheard-of/real-time-participants?${query}`;
        const res = await fetch(`${url}${uri}`, {
          headers: buildTencentHeaders(credentials, { method: 'GET', requestUri: uri, body: '' }),
        });
        expect({ status: res.status, body: await res.json() }).toEqual(
          tencentError(190457, 'meeting not found'),
        );
      } finally {
        await strict.close();
      }
    });

    it('refuses a missing parameter, page 0 and a page_size over 50 with 190004', async () => {
      fake.connect('params', 86, '13900000005', 'p-1');
      for (const name of ['operator_id', 'operator_id_type', 'page', 'page_size']) {
        const without = query
          .split('&')
          .filter((pair) => !pair.startsWith(`${name}=`))
          .join('&');
        expect(await roster('params', without)).toEqual(invalid);
      }
      expect(await roster('params', query.replace('page=1', 'page=0'))).toEqual(invalid);
      expect(await roster('params', query.replace('page_size=50', 'page_size=51'))).toEqual(
        invalid,
      );
      expect(await roster('params', query.replace('page_size=50', 'page_size=0'))).toEqual(invalid);
      expect(
        await roster('params', query.replace('operator_id_type=1', 'operator_id_type=9')),
      ).toEqual(invalid);
    });

    it('applies the per-minute limit to the roster like to every endpoint', async () => {
      const limited = new FakeTencentServer({ ...credentials, ratePerMinute: 1 });
      const url = await limited.start();
      try {
        const ask = async () => {
          const uri = `/v1/meetings/limited/real-time-participants?${query}`;
          const headers = buildTencentHeaders(credentials, {
            method: 'GET',
            requestUri: uri,
            body: '',
          });
          return (await fetch(`${url}${uri}`, { headers })).status;
        };
        expect([await ask(), await ask()]).toEqual([200, 400]);
        expect(limited.rateLimitedCount).toBe(1);
        expect(limited.requests.map((r) => [r.meetingId, r.status])).toEqual([
          ['limited', 200],
          ['limited', 400],
        ]);
      } finally {
        await limited.close();
      }
    });
  });

  describe('meeting control', () => {
    it('mutes and unmutes one caller', async () => {
      fake.connect('mute', 86, '13700000001', 'm-1');
      expect(await control('mute', 'mutes', mute('m-1'))).toEqual(ok);
      expect(fake.participant('mute', 'm-1')).toEqual(inMeeting('137****0001', true));
      expect(await control('mute', 'mutes', mute('m-1', false))).toEqual(ok);
      expect(fake.participant('mute', 'm-1')).toEqual(inMeeting('137****0001'));
    });

    it('kicks several callers in one call, and records exactly what was sent', async () => {
      fake.connect('kick', 86, '13700000002', 'k-1');
      fake.connect('kick', 86, '13700000003', 'k-2');
      fake.connect('kick', 86, '13700000004', 'k-3');
      const body = { ...kick('k-1', 'k-2'), reason: 'spam' };
      expect(await control('kick', 'kickout', body)).toEqual(ok);

      expect(fake.participant('kick', 'k-1')).toEqual({
        ...inMeeting('137****0002'),
        connected: false,
        kicked: true,
        allowRejoin: false,
      });
      expect(fake.roster('kick').map((p) => p.msOpenId)).toEqual(['k-3']);
      const kickouts = fake.requests.filter(
        (r) => r.path === '/v1/real-control/meetings/kick/kickout',
      );
      expect(kickouts.map(({ status, targets, body }) => ({ status, targets, body }))).toEqual([
        { status: 200, targets: ['k-1', 'k-2'], body },
      ]);
      expect(fake.callsFor('kick')).toBe(1);
    });

    it('renames callers', async () => {
      fake.connect('rename', 86, '13700000005', 'r-1');
      fake.connect('rename', 86, '13700000006', 'r-2');
      const names = { 'r-1': '会议室电话', 'r-2': 'x'.repeat(20) };
      expect(await control('rename', 'names', rename(names))).toEqual(ok);
      expect(fake.participant('rename', 'r-1')).toEqual(inMeeting('会议室电话'));
      expect(fake.participant('rename', 'r-2')).toEqual(inMeeting('x'.repeat(20)));
      expect(listed(await roster('rename'), 'user_name')).toEqual([
        base64('会议室电话'),
        base64('x'.repeat(20)),
      ]);
    });

    it('refuses a malformed body with 190004 and changes nothing', async () => {
      fake.connect('bad', 86, '13700000007', 'b-1');
      const users = Array.from({ length: 21 }, (_, i) => `b-${i + 1}`);
      const bad: ['mutes' | 'kickout' | 'names', object][] = [
        ['mutes', { ...mute('b-1'), user: { ...target('b-1'), to_operator_id_type: 2 } }],
        ['mutes', { ...mute('b-1'), user: { ...target('b-1'), instanceid: 1 } }],
        ['mutes', { ...mute('b-1'), instanceid: 0 }],
        ['mutes', { ...mute('b-1'), mute: 'true' }],
        ['mutes', { ...operator, user: target('b-1') }],
        ['mutes', { ...mute('b-1'), operator_id_type: '1' }],
        ['mutes', { ...mute('b-1'), uuid: 'extra' }],
        ['kickout', kick(...users)],
        ['kickout', kick()],
        ['kickout', { ...kick('b-1'), users: [{ ms_open_id: 'b-1', instanceid: 0 }] }],
        ['kickout', { ...kick('b-1'), allowRejoin: true }],
        ['names', rename({ 'b-1': 'x'.repeat(21) })],
        ['names', rename({ 'b-1': '' })],
        ['names', { ...operator, users: [{ ...target('b-1'), nick_name: 'ok' }] }],
      ];
      for (const [action, body] of bad) {
        expect({ action, body, answer: await control('bad', action, body) }).toEqual({
          action,
          body,
          answer: invalid,
        });
      }
      const raw = await send('PUT', '/v1/real-control/meetings/bad/mutes', '[]');
      expect(raw).toEqual(invalid);
      expect(fake.participant('bad', 'b-1')).toEqual(inMeeting('137****0007'));
    });

    it('refuses a target not in the meeting, all or nothing, and changes nothing', async () => {
      fake.connect('absent', 86, '13700000008', 'here');
      fake.connect('absent', 86, '13700000009', 'left');
      fake.disconnect('absent', 'left');
      fake.joinApp('absent', 'on-app');

      expect(await control('absent', 'mutes', mute('never-joined'))).toEqual(notInMeeting);
      expect(await control('absent', 'mutes', mute('left'))).toEqual(notInMeeting);
      // An app participant is no phone caller: instanceid 0 does not name it.
      expect(await control('absent', 'mutes', mute('on-app'))).toEqual(notInMeeting);
      expect(await control('absent', 'kickout', kick('here', 'left'))).toEqual(notInMeeting);
      expect(await control('absent', 'names', rename({ here: 'new', left: 'new' }))).toEqual(
        notInMeeting,
      );
      expect(fake.participant('absent', 'here')).toEqual(inMeeting('137****0008'));
      expect(fake.participant('absent', 'on-app')).toEqual({
        ...inMeeting('participant'),
        instanceid: 1,
      });

      expect(await control('absent', 'kickout', kick('here'))).toEqual(ok);
      expect(await control('absent', 'mutes', mute('here'))).toEqual(notInMeeting);
      fake.connect('absent', 86, '13700000010', 'until-the-end');
      fake.endMeeting('absent');
      expect(await control('absent', 'mutes', mute('until-the-end'))).toEqual(notInMeeting);
    });

    it('lets only the configured operator act or read the roster', async () => {
      fake.connect('operator', 86, '13700000011', 'o-1');
      const intruder = { ...mute('o-1'), operator_id: 'intruder' };
      const noPermission = tencentError(9042, 'no permission');
      expect(await control('operator', 'mutes', intruder)).toEqual(noPermission);
      expect(
        await roster('operator', query.replace('operator_id=host', 'operator_id=intruder')),
      ).toEqual(noPermission);
      expect(fake.participant('operator', 'o-1')).toEqual(inMeeting('137****0011'));
    });

    it('fails only the endpoint a fault is aimed at', async () => {
      fake.connect('faulty', 86, '13700000012', 'f-1');
      fake.failWith({ status: 500, message: 'kickout down' }, 1, 'kickout');
      fake.failWith({ status: 400, errorCode: 9042, message: 'no permission' }, 1, 'kickout');

      expect((await roster('faulty')).status).toBe(200);
      expect(await control('faulty', 'mutes', mute('f-1'))).toEqual(ok);
      expect(await control('faulty', 'kickout', kick('f-1'))).toEqual({
        status: 500,
        body: { error_info: { error_code: null, new_error_code: null, message: 'kickout down' } },
      });
      expect(await control('faulty', 'kickout', kick('f-1'))).toEqual(
        tencentError(9042, 'no permission'),
      );
      expect(fake.participant('faulty', 'f-1')).toEqual(inMeeting('137****0012', true));
      expect(await control('faulty', 'kickout', kick('f-1'))).toEqual(ok);
      expect(
        fake.requests
          .filter((r) => r.meetingId === 'faulty')
          .map((r) => [r.path.split('/').pop(), r.status, r.targets]),
      ).toEqual([
        ['real-time-participants', 200, undefined],
        ['mutes', 200, ['f-1']],
        ['kickout', 500, ['f-1']],
        ['kickout', 400, ['f-1']],
        ['kickout', 200, ['f-1']],
      ]);
    });

    it('still refuses a badly signed control call with 200003, changing nothing', async () => {
      fake.connect('forged', 86, '13700000013', 'g-1');
      const before = fake.badSignatureCount;
      const answer = await send(
        'PUT',
        '/v1/real-control/meetings/forged/kickout',
        JSON.stringify(kick('g-1')),
        { ...credentials, secretKey: 'wrong' },
      );
      expect(answer).toEqual(tencentError(200003, 'authentication failed'));
      expect(fake.badSignatureCount).toBe(before + 1);
      expect(fake.participant('forged', 'g-1')).toEqual(inMeeting('137****0013'));
    });
  });
});
