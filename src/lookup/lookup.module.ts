import { Module } from '@nestjs/common';
import { ResolutionModule } from '../resolution/resolution.module';
import { LookupController } from './lookup.controller';
import { LookupService } from './lookup.service';
import { LookupStore } from './lookup.store';
import { MappingCache } from './mapping.cache';
import { MsOpenIdRoute } from './ms-open-id.route';
import { PstnEventStream } from './pstn-event.stream';
import { PstnEventsController } from './pstn-events.controller';
import { SseStreams } from './sse-streams';

@Module({
  imports: [ResolutionModule],
  controllers: [LookupController, PstnEventsController],
  providers: [LookupService, LookupStore, MappingCache, MsOpenIdRoute, PstnEventStream, SseStreams],
  exports: [MappingCache, LookupService, LookupStore, PstnEventStream],
})
export class LookupModule {}
