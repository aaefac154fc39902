import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Metrics } from './metrics';

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics' })
  @ApiOkResponse({
    description: "Prometheus's text format; every metric of the service is prefixed `pstn_`",
    content: {
      'text/plain; version=0.0.4; charset=utf-8': {
        schema: { type: 'string' },
        example: [
          '# HELP pstn_webhooks_total Webhook deliveries by event and outcome (stored, or the error code answered)',
          '# TYPE pstn_webhooks_total counter',
          'pstn_webhooks_total{event="meeting.participant-joined",outcome="stored"} 12',
          '',
        ].join('\n'),
      },
    },
  })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
