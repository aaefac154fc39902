import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Env } from '../config/env.schema';

export interface Downtime {
  from: Date;
  until: Date;
}

/**
 * How the service knows it was down: every replica refreshes one row's `alive_at` three times
 * per DOWNTIME_AFTER_SECONDS, so a replica that starts and finds it older than that knows no
 * replica took webhooks in between, and records the gap for the roster job. The newest stored
 * webhook would not do: a quiet night looks the same as an outage, and a rolling restart (when
 * other replicas go on) is none.
 */
@Injectable()
export class ServiceHeartbeat implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ServiceHeartbeat.name);
  private readonly downAfterSeconds: number;
  private timer?: NodeJS.Timeout;

  constructor(
    env: Env,
    private readonly dataSource: DataSource,
  ) {
    this.downAfterSeconds = env.DOWNTIME_AFTER_SECONDS;
  }

  async onApplicationBootstrap(): Promise<void> {
    const downtime = await this.start();
    if (downtime) {
      this.logger.log(
        `no replica was alive from ${downtime.from.toISOString()}: open meetings' rosters will be read`,
      );
    }
    this.timer = setInterval(() => void this.beat(), (this.downAfterSeconds * 1000) / 3);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * Marks this replica alive, first recording a downtime when no replica was alive for
   * DOWNTIME_AFTER_SECONDS; answers the downtime it recorded, or null. One statement, so that
   * of replicas starting together only the first finds the gap.
   */
  async start(): Promise<Downtime | null> {
    const [row] = await this.dataSource.query<{ down: boolean; from: Date; until: Date }[]>(
      `WITH beat AS (
         UPDATE service_heartbeat SET
           down_from  = CASE WHEN alive_at < now() - $1 * interval '1 second' THEN alive_at ELSE down_from END,
           down_until = CASE WHEN alive_at < now() - $1 * interval '1 second' THEN now() ELSE down_until END,
           alive_at   = now()
         RETURNING down_from, down_until)
       SELECT down_until = now() AS down, down_from AS "from", down_until AS until FROM beat`,
      [this.downAfterSeconds],
    );
    return row?.down ? { from: row.from, until: row.until } : null;
  }

  private async beat(): Promise<void> {
    try {
      await this.dataSource.query(`UPDATE service_heartbeat SET alive_at = now()`);
    } catch (error) {
      this.logger.warn(`heartbeat not recorded: ${(error as Error).message}`);
    }
  }
}
