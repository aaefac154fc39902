import {
  FakeTencentServer,
  type FakeTencentOptions,
} from '../../tools/fake-tencent/fake-tencent-server';
import { startTestApp, TENCENT_CREDENTIALS, testEnv, type TestApp } from './test-app';
import { createTestDatabase, dropTestDatabase } from './test-database';

/** A test database, the fake Tencent and one app pointed at both. */
export interface TestStack {
  databaseUrl: string;
  fake: FakeTencentServer;
  t: TestApp;
  /** Stops the app and the fake, and drops the database. */
  close(): Promise<void>;
}

export async function startTestStack(
  overrides: Record<string, string> = {},
  fakeOptions: Partial<FakeTencentOptions> = {},
): Promise<TestStack> {
  const databaseUrl = await createTestDatabase();
  const fake = new FakeTencentServer({ ...TENCENT_CREDENTIALS, ...fakeOptions });
  const t = await startTestApp(
    testEnv(databaseUrl, { TENCENT_API_BASE_URL: await fake.start(), ...overrides }),
  );
  return {
    databaseUrl,
    fake,
    t,
    close: async () => {
      await t.close();
      await fake.close();
      await dropTestDatabase(databaseUrl);
    },
  };
}
