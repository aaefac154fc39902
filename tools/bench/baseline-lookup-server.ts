import Fastify from 'fastify';
import Redis from 'ioredis';

/**
 * The physical baseline of a lookup: bare Fastify, a JSON body, and one Redis GET per request.
 */
async function main(): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', {
    enableAutoPipelining: true,
  });
  const prefix = process.env.BASELINE_PREFIX ?? 'bench:baseline:';
  const app = Fastify();
  app.post<{
    Params: { meetingId: string };
    Body: { phone_numbers: { area: number; phone_number: number }[] };
  }>('/v1/meetings/:meetingId/phone/ms-open-id', async (request) => {
    const [number] = request.body.phone_numbers;
    const key = `${prefix}${request.params.meetingId}:${number.area}:${number.phone_number}`;
    const value = await redis.get(key);
    return {
      meeting_id: request.params.meetingId,
      ms_open_id_list: value ? [JSON.parse(value)] : [],
    };
  });
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  process.on('SIGTERM', () => void app.close().then(() => redis.quit()));
}

void main();
