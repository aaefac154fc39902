import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

/**
 * Unit specs live beside the code, end-to-end specs in test/; both run against the real
 * Postgres and Redis. The fault-injection specs (test/faults/) stop and restart those services,
 * so they run on their own (`npm run test:faults`), one file at a time. SWC compiles the
 * TypeScript so that Nest's decorator metadata is emitted.
 */
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.spec.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/**/*.e2e-spec.ts'] } },
      {
        extends: true,
        test: {
          name: 'faults',
          include: ['test/faults/**/*.fault-spec.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
        },
      },
    ],
  },
});
