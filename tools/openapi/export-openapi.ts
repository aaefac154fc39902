import 'reflect-metadata';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import * as prettier from 'prettier';
import { AppModule } from '../../src/app.module';
import { Env } from '../../src/config/env.schema';
import { buildOpenApiDocument } from '../../src/openapi-document';

/**
 * `npm run openapi` writes docs/openapi.json from the code, with the builder /docs-json serves;
 * `npm run openapi:check` (CI) writes it to a temporary file instead and fails when the
 * committed one differs, so the document never lags the code. The output goes through prettier
 * with the repository's settings, so `prettier --check .` and a fresh generation agree byte for
 * byte. Paths are the repository root's: npm runs it there.
 */

const DOCUMENT = 'docs/openapi.json';

async function generate(): Promise<string> {
  // Preview mode reads the module graph without instantiating anything: no Postgres, no Redis,
  // and no setting (the document depends on none, so the defaults of Env will do).
  const app = await NestFactory.create(AppModule.forEnv(new Env()), new FastifyAdapter(), {
    preview: true,
    logger: false,
  });
  try {
    const document = buildOpenApiDocument(app);
    const options = await prettier.resolveConfig(DOCUMENT);
    return await prettier.format(JSON.stringify(document), { ...options, filepath: DOCUMENT });
  } finally {
    await app.close();
  }
}

/** The first line where two texts differ, to say where the committed document is stale. */
function firstDifference(committed: string, generated: string): string {
  const a = committed.split('\n');
  const b = generated.split('\n');
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? a.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(a[at] ?? '(end)')}, generated ${JSON.stringify(b[at] ?? '(end)')}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  const generated = await generate();
  if (!values.check) {
    writeFileSync(DOCUMENT, generated);
    console.log(`wrote ${DOCUMENT}`);
    return;
  }
  const fresh = join(mkdtempSync(join(tmpdir(), 'openapi-')), 'openapi.json');
  writeFileSync(fresh, generated);
  const committed = existsSync(DOCUMENT) ? readFileSync(DOCUMENT, 'utf8') : null;
  if (committed === generated) {
    console.log(`${DOCUMENT} is what the code generates`);
    return;
  }
  console.error(
    committed === null
      ? `${DOCUMENT} is missing: run \`npm run openapi\` and commit it.`
      : `${DOCUMENT} is not what the code generates (${firstDifference(committed, generated)}).\n` +
          `Run \`npm run openapi\` and commit the result; the generated document is at ${fresh}.`,
  );
  process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
