/**
 * Runs the retention job on graphile-worker's cron, hourly. Every API process
 * runs a small worker for it; graphile-worker's cron schedules each hour's run
 * once for all of them (its known_crontabs table), and an hour missed while no
 * process ran is run at the next start (`fill=1h`). runRetention's advisory
 * lock still keeps a manual run and a scheduled one apart.
 */
import { type CronItem, Logger, parseCronItems, type Runner, run, type Task } from "graphile-worker";
import type pg from "pg";
import type { Logger as PinoLogger } from "pino";
import type { Clock } from "../deps";
import { runRetention } from "./job";

export const RETENTION_TASK = "vakt_retention";
/** At minute 0 of every hour; at most three attempts; an hour missed is caught up once. */
export const RETENTION_CRON: CronItem = {
  task: RETENTION_TASK,
  match: "0 * * * *",
  options: { backfillPeriod: 3_600_000, maxAttempts: 3, jobKey: RETENTION_TASK, jobKeyMode: "replace" },
};

export interface RetentionScheduler {
  stop(): Promise<void>;
}

/** The task: one retention run as of the clock's now (not the cron tick: a backfilled run is late). */
export function retentionTask(pool: pg.Pool, clock: Clock, log: PinoLogger): Task {
  return async () => {
    const result = await runRetention(pool, { now: clock.now(), trigger: "schedule", logger: log });
    log.info({ runId: result.runId, status: result.status }, "scheduled retention run");
  };
}

export async function startRetentionScheduler(options: {
  pool: pg.Pool;
  clock: Clock;
  logger: PinoLogger;
  /** How often the worker looks for a due job (default 10 s: the job is hourly). */
  pollIntervalMs?: number;
}): Promise<RetentionScheduler> {
  const log = options.logger.child({ component: "retention" });
  const runner: Runner = await run({
    pgPool: options.pool,
    concurrency: 1,
    noHandleSignals: true,
    pollInterval: options.pollIntervalMs ?? 10_000,
    logger: new Logger(() => (level, message, meta) => {
      const fn = level === "error" ? log.error : level === "warning" ? log.warn : log.debug;
      fn.call(log, { meta }, message);
    }),
    taskList: { [RETENTION_TASK]: retentionTask(options.pool, options.clock, log) },
    parsedCronItems: parseCronItems([RETENTION_CRON]),
  });
  return {
    async stop() {
      await runner.stop();
    },
  };
}
