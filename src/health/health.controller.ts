import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import {
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { VERSION } from '../common/version';
import { RedisClient } from '../redis/redis.client';
import { LIVE_ANSWER, NOT_READY_EXAMPLE, READY_EXAMPLE, readinessReport } from './health-answers';

const CHECK_TIMEOUT_MS = 1000;

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly postgres: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisClient,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'The process answers (checks no dependency)' })
  @ApiOkResponse({
    description: 'Alive',
    schema: LIVE_ANSWER,
    example: { status: 'ok', version: '0.1.0' },
  })
  live() {
    return { status: 'ok', version: VERSION };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Ready to serve: 503 without Postgres; 200 "degraded" without Redis',
  })
  @ApiOkResponse({
    description: 'Ready; `degraded` while Redis is down (lookups answer from Postgres)',
    schema: readinessReport(['ok', 'degraded']),
    example: READY_EXAMPLE,
  })
  @ApiServiceUnavailableResponse({
    description: "Postgres does not answer within 1 s: Terminus's report, not the error shape",
    schema: readinessReport(['error', 'shutting_down']),
    examples: { postgres_down: { summary: 'Postgres is down', value: NOT_READY_EXAMPLE } },
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    try {
      const report = await this.health.check([
        () => this.postgres.pingCheck('postgres', { timeout: CHECK_TIMEOUT_MS }),
        () => this.redisCheck(),
      ]);
      return { ...report, version: VERSION };
    } catch (error) {
      // Terminus's own report (which check failed) is the answer, not the generic error shape.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      reply.status(503);
      return { ...(error.getResponse() as object), version: VERSION };
    }
  }

  /** Without Redis the service still answers (from Postgres), only slower: degraded, not down. */
  private async redisCheck() {
    const redis = this.indicators.check('redis');
    try {
      await this.redis.ping();
      return redis.up();
    } catch (error) {
      return redis.degraded({ message: (error as Error).message });
    }
  }
}
