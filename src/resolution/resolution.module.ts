import { Module } from '@nestjs/common';
import { MeetingResolver } from './meeting-resolver';
import { ResolutionStore } from './resolution.store';

@Module({
  providers: [MeetingResolver, ResolutionStore],
  exports: [MeetingResolver, ResolutionStore],
})
export class ResolutionModule {}
