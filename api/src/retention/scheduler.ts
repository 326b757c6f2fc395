/**
 * Runs the retention job on a fixed interval in every API process; the
 * advisory lock in runRetention makes sure only one runs at a time, and the
 * others' attempts are skipped (not recorded). No job queue has landed in the
 * project yet; when one does (graphile-worker or pg-boss), runRetention becomes
 * its task unchanged.
 */
import type pg from "pg";
import type { Logger } from "pino";
import type { Clock } from "../deps";
import { runRetention } from "./job";

export interface RetentionScheduler {
  stop(): Promise<void>;
}

export function startRetentionScheduler(options: {
  pool: pg.Pool;
  clock: Clock;
  logger: Logger;
  /** Default: hourly. The first run starts after `firstDelayMs` (default one minute). */
  intervalMs?: number;
  firstDelayMs?: number;
}): RetentionScheduler {
  const log = options.logger.child({ component: "retention" });
  let running: Promise<unknown> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopped) return;
    running = runRetention(options.pool, { now: options.clock.now(), trigger: "schedule", logger: log })
      .catch((err) => log.error({ err }, "retention run could not start"))
      .finally(() => {
        running = undefined;
        if (stopped) return;
        timer = setTimeout(tick, options.intervalMs ?? 3_600_000);
        timer.unref();
      });
  };
  timer = setTimeout(tick, options.firstDelayMs ?? 60_000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
