import { Module } from '@nestjs/common';
import { ResolutionModule } from '../resolution/resolution.module';
import { CachedLookupLane } from './cached-lookup.lane';
import { LookupController } from './lookup.controller';
import { LookupService } from './lookup.service';
import { MappingCache } from './mapping.cache';
import { PstnEventStream } from './pstn-event.stream';
import { PstnEventsController } from './pstn-events.controller';

@Module({
  imports: [ResolutionModule],
  controllers: [LookupController, PstnEventsController],
  providers: [LookupService, MappingCache, PstnEventStream, CachedLookupLane],
  exports: [MappingCache, LookupService],
})
export class LookupModule {}
