/**
 * Retention on graphile-worker's cron: the hourly item, caught up after an
 * hour in which no process ran, runs the retention job as a scheduled run
 * that does the whole job (a manual run after it finds nothing left).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addRecipient, createHarness, createOrg, type Harness, until } from "../../test/harness";
import { runGraphileMigrations } from "../alerting";
import { runRetention } from "./job";
import { RETENTION_CRON, type RetentionScheduler, startRetentionScheduler } from "./scheduler";

let h: Harness;
let scheduler: RetentionScheduler | undefined;
beforeAll(async () => {
  h = await createHarness();
  await runGraphileMigrations(h.db.pool, h.deps.logger);
});
afterAll(async () => {
  await scheduler?.stop();
  await h.close();
});

const DAY = 86_400_000;

describe("retention schedule", () => {
  it("runs the retention job from graphile-worker's cron, as a scheduled run doing the whole job", async () => {
    const now = h.clock.now;
    const org = await createOrg(h);
    const r = await addRecipient(h, org, org.departments.a1);
    await h.db.pool.query(
      "INSERT INTO retention_settings (organisation_id, positions_days) VALUES ($1, 30)",
      [org.organisationId],
    );
    for (const age of [31 * DAY, 29 * DAY])
      await h.db.pool.query(
        `INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon)
         VALUES ($1, $2, $3, $4, $5, 59.9, 10.7)`,
        [
          new Date(now.getTime() - age),
          r.deviceId,
          org.organisationId,
          r.recipientId,
          randomBytes(4).toString("hex"),
        ],
      );
    // The cron item last fired two hours ago: the hour since is one the worker must catch up.
    await h.db.pool.query(
      `INSERT INTO graphile_worker._private_known_crontabs (identifier, known_since, last_execution)
       VALUES ($1, now() - interval '2 hours', now() - interval '2 hours')`,
      [RETENTION_CRON.task],
    );

    scheduler = await startRetentionScheduler({
      pool: h.db.pool,
      clock: h.deps.clock,
      logger: h.deps.logger,
      pollIntervalMs: 50,
    });
    let runId = 0;
    await until("a scheduled retention run", async () => {
      const { rows } = await h.db.pool.query<{ id: string }>(
        "SELECT id FROM retention_runs WHERE trigger = 'schedule' AND status = 'succeeded'",
      );
      runId = Number(rows[0]?.id ?? 0);
      return rows.length > 0;
    });
    const { rows: counts } = await h.db.pool.query(
      "SELECT category, rows::int FROM retention_run_counts WHERE run_id = $1 AND organisation_id = $2",
      [runId, org.organisationId],
    );
    expect(counts).toEqual([{ category: "positions", rows: 1 }]);
    const { rows: left } = await h.db.pool.query(
      "SELECT count(*)::int AS n FROM positions WHERE organisation_id = $1",
      [org.organisationId],
    );
    expect(left).toEqual([{ n: 1 }]);
    const manual = await runRetention(h.db.pool, { now, trigger: "manual" });
    expect(manual.status).toBe("succeeded");
    expect(manual.counts[org.organisationId]).toBeUndefined();
  });
});
