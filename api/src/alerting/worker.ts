/**
 * The graphile-worker wiring: its schema, its logger, queuing a job, and the runner that works the
 * alerting tasks. Jobs live in PostgreSQL, so a step or delivery queued survives a restart of every process.
 */
import type { Queryable } from "@vakt/storage";
import { type JobHelpers, Logger, type Runner, run, runMigrations } from "graphile-worker";
import type pg from "pg";
import type { ApiDeps } from "../deps";

export async function addJob(
  db: Queryable,
  task: "alarm_step" | "deliver",
  payload: unknown,
  options: { runAt?: Date | undefined; jobKey?: string; maxAttempts?: number } = {},
) {
  await db.query(
    "SELECT graphile_worker.add_job($1, $2::json, run_at => $3, job_key => $4, max_attempts => $5)",
    [task, JSON.stringify(payload), options.runAt ?? null, options.jobKey ?? null, options.maxAttempts ?? 1],
  );
}

function graphileLogger(log: ApiDeps["logger"]) {
  // graphile-worker's Logger takes a factory of (level, message, meta) functions.
  return new Logger(() => (level: string, message: string, meta?: unknown) => {
    const fn = level === "error" ? log.error : level === "warning" ? log.warn : log.debug;
    fn.call(log, { meta }, message);
  });
}

/**
 * Installs or upgrades graphile-worker's schema, as the tables' owner, before
 * processes connect as the runtime role (which may use the schema, not change it).
 * Then grants the runtime group role its privileges on it (vakt_app, migration 0111).
 */
export async function runGraphileMigrations(pool: pg.Pool, log: ApiDeps["logger"]): Promise<void> {
  await runMigrations({ pgPool: pool, logger: graphileLogger(log) });
  await pool.query("SELECT vakt_grant_app_role()");
}

export interface AlertingTasks {
  alarm_step(payload: { alarmId: string; run: number }): Promise<void>;
  deliver(payload: unknown, helpers: JobHelpers): Promise<void>;
}

/** Runs the tasks with `concurrency` workers; with 0, only makes sure the schema is there (jobs can be queued). */
export async function startWorker(
  deps: ApiDeps,
  log: ApiDeps["logger"],
  tasks: AlertingTasks,
  options: { concurrency: number; pollIntervalMs?: number | undefined },
): Promise<Runner | undefined> {
  // A dropped idle connection must not crash the process (graphile-worker checks for these).
  if (deps.pool.listeners("error").length === 0)
    deps.pool.on("error", (err) => log.warn({ err }, "idle database connection failed"));
  if (deps.pool.listeners("connect").length === 0)
    deps.pool.on("connect", (client) =>
      client.on("error", (err) => log.warn({ err }, "database client failed")),
    );
  if (options.concurrency <= 0) {
    await runMigrations({ pgPool: deps.pool, logger: graphileLogger(log) });
    return undefined;
  }
  return run({
    pgPool: deps.pool,
    concurrency: options.concurrency,
    noHandleSignals: true,
    pollInterval: options.pollIntervalMs ?? 500,
    logger: graphileLogger(log),
    taskList: {
      alarm_step: async (payload) => tasks.alarm_step(payload as { alarmId: string; run: number }),
      deliver: async (payload, helpers) => tasks.deliver(payload, helpers),
    },
  });
}
