import Fastify from 'fastify';
import { Pool } from 'pg';

/**
 * The physical baseline of webhook intake: bare Fastify and one
 * `INSERT ... ON CONFLICT DO NOTHING` (its own transaction, synchronous commit) per request.
 */
async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  await pool.query(
    `CREATE TABLE IF NOT EXISTS baseline_events (dedupe_key text PRIMARY KEY, data text NOT NULL)`,
  );
  const app = Fastify({ bodyLimit: 1024 * 1024 });
  app.post<{ Body: { data: string } }>('/webhooks/tencent-meeting', async (request, reply) => {
    await pool.query(
      `INSERT INTO baseline_events (dedupe_key, data) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [request.headers.signature, request.body.data],
    );
    return reply.type('text/plain').send('successfully received callback');
  });
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  process.on('SIGTERM', () => void app.close().then(() => pool.end()));
}

void main();
