/**
 * The retention job. The database does the bulk: TimescaleDB retention
 * policies (or dropped daily partitions on plain PostgreSQL, via
 * maintainTimeseries) keep every time-series table under its ceiling. This job
 * does the rest, as of an instant given by the caller's clock:
 *
 * - per organisation, DELETE by time where the organisation keeps less than the
 *   ceiling (positions, device status, raw device messages, dead letters),
 *   closed alarms older than their retention, and the activity log's oldest
 *   prefix (vakt_activity_log_prune, which keeps the chain verifiable);
 * - erasure of recipients 6 months after their service ended and of staff users
 *   6 months after their access ended;
 * - housekeeping of expired sessions (with the ID tokens of single sign-on
 *   sessions), invitations, password resets, single sign-on login flows and
 *   old login attempts (e-mail addresses and IP addresses).
 *
 * One run at a time across processes (a PostgreSQL advisory lock); every run
 * is recorded in retention_runs with its counts in retention_run_counts. Runs
 * are idempotent: a second run as of the same instant removes nothing.
 */
import { maintainTimeseries, type Queryable, withTransaction } from "@vakt/storage";
import type pg from "pg";
import type { Logger } from "pino";
import { eraseRecipient, eraseStaffUser } from "../privacy/erasure";
import { FLOW_TTL_MS } from "../sso/login";

export const RETENTION_LOCK_KEY = "vakt.retention";
/** Fixed by the privacy policy (Safemate §7): personal data go 6 months after service or access ends. */
export const GRACE_MONTHS = 6;
/** Rows without an organisation (dead letters from unknown devices): the longest an organisation may keep them. */
export const UNOWNED_DEAD_LETTERS_DAYS = 90;
export const LOGIN_ATTEMPTS_DAYS = 90;

export interface RetentionRunResult {
  runId: number | null;
  /** Another process held the lock: nothing was done. */
  skipped: boolean;
  status: "succeeded" | "failed" | "skipped";
  /** organisation id (or "" for rows owned by none) -> category -> rows. */
  counts: Record<string, Record<string, number>>;
  error?: string;
}

interface OrgSettings {
  organisation_id: string;
  time_zone: string;
  positions_days: number;
  device_status_days: number;
  device_messages_days: number;
  dead_letters_days: number;
  alarms_days: number;
}

const DAY_MS = 86_400_000;

export async function runRetention(
  pool: pg.Pool,
  options: { now: Date; trigger?: "schedule" | "manual"; logger?: Logger },
): Promise<RetentionRunResult> {
  const { now } = options;
  const client = await pool.connect();
  try {
    const lock = await client.query<{ ok: boolean }>(
      "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok",
      [RETENTION_LOCK_KEY],
    );
    if (!lock.rows[0]?.ok) return { runId: null, skipped: true, status: "skipped", counts: {} };
    try {
      const run = await client.query<{ id: string }>(
        "INSERT INTO retention_runs (as_of, trigger) VALUES ($1, $2) RETURNING id",
        [now, options.trigger ?? "schedule"],
      );
      const runId = Number(run.rows[0]?.id);
      const counts: RetentionRunResult["counts"] = {};
      const add = (org: string, category: string, rows: number) => {
        if (rows <= 0) return;
        counts[org] ??= {};
        const c = counts[org];
        c[category] = (c[category] ?? 0) + rows;
      };
      try {
        await retain(client, pool, now, add);
        await client.query(
          "UPDATE retention_runs SET status = 'succeeded', finished_at = clock_timestamp() WHERE id = $1",
          [runId],
        );
        await recordCounts(client, runId, counts);
        options.logger?.info({ runId, counts }, "retention run");
        return { runId, skipped: false, status: "succeeded", counts };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await client.query(
          "UPDATE retention_runs SET status = 'failed', finished_at = clock_timestamp(), error = $2 WHERE id = $1",
          [runId, message.slice(0, 2000)],
        );
        await recordCounts(client, runId, counts);
        options.logger?.error({ err, runId }, "retention run failed");
        return { runId, skipped: false, status: "failed", counts, error: message };
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [RETENTION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

async function recordCounts(client: pg.PoolClient, runId: number, counts: RetentionRunResult["counts"]) {
  for (const [org, byCategory] of Object.entries(counts)) {
    for (const [category, rows] of Object.entries(byCategory)) {
      await client.query(
        "INSERT INTO retention_run_counts (run_id, organisation_id, category, rows) VALUES ($1, $2, $3, $4)",
        [runId, org === "" ? null : org, category, rows],
      );
    }
  }
}

async function retain(
  client: pg.PoolClient,
  pool: pg.Pool,
  now: Date,
  add: (org: string, category: string, rows: number) => void,
) {
  // The ceilings, in bulk.
  const maintained = await maintainTimeseries(client, now);
  add("", "partitionsDropped", maintained.dropped.length);
  const ceilings = await timeseriesCeilingsDays(client);

  await client.query(
    "INSERT INTO retention_settings (organisation_id) SELECT id FROM organisations ON CONFLICT DO NOTHING",
  );
  const orgs = (
    await client.query<OrgSettings>(
      `SELECT s.organisation_id, o.time_zone, s.positions_days, s.device_status_days, s.device_messages_days,
              s.dead_letters_days, s.alarms_days
         FROM retention_settings s JOIN organisations o ON o.id = s.organisation_id ORDER BY o.id`,
    )
  ).rows;
  const cutoff = (days: number) => new Date(now.getTime() - days * DAY_MS);
  const del = async (org: string, category: string, sql: string, params: unknown[]) => {
    const r = await client.query(sql, params);
    add(org, category, r.rowCount ?? 0);
  };

  const failures: string[] = [];
  for (const s of orgs) {
    try {
      await retainOrganisation(client, pool, now, s, ceilings, add);
    } catch (err) {
      // One organisation's failure (e.g. a log that does not verify) does not stop the others.
      failures.push(`${s.organisation_id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // Rows owned by no organisation, and login housekeeping.
  await del(
    "",
    "deadLetters",
    "DELETE FROM dead_letters WHERE organisation_id IS NULL AND received_at < $1",
    [cutoff(UNOWNED_DEAD_LETTERS_DAYS)],
  );
  await del("", "loginAttempts", "DELETE FROM login_attempts WHERE at < $1", [cutoff(LOGIN_ATTEMPTS_DAYS)]);
  await del("", "sessions", "DELETE FROM sessions WHERE absolute_expires_at < $1", [now]);
  await del("", "invitations", "DELETE FROM invitations WHERE expires_at < $1", [now]);
  await del("", "passwordResets", "DELETE FROM password_resets WHERE expires_at < $1", [now]);
  // Single sign-on flows live 10 minutes; kept that long again after expiry so a late callback is still recognised.
  await del("", "ssoLoginFlows", "DELETE FROM sso_login_flows WHERE expires_at < $1", [
    new Date(now.getTime() - FLOW_TTL_MS),
  ]);
  if (failures.length > 0) throw new Error(failures.join("; "));
}

async function retainOrganisation(
  client: pg.PoolClient,
  pool: pg.Pool,
  now: Date,
  s: OrgSettings,
  ceilings: Record<string, number>,
  add: (org: string, category: string, rows: number) => void,
) {
  const cutoff = (days: number) => new Date(now.getTime() - days * DAY_MS);
  const del = async (org: string, category: string, sql: string, params: unknown[]) => {
    const r = await client.query(sql, params);
    add(org, category, r.rowCount ?? 0);
  };
  const org = s.organisation_id;
  const keep = (table: string, days: number) => Math.min(days, ceilings[table] ?? days);
  await del(org, "positions", "DELETE FROM positions WHERE organisation_id = $1 AND time < $2", [
    org,
    cutoff(keep("positions", s.positions_days)),
  ]);
  // Geofence transitions are position data: the same limit, counted with positions.
  await del(org, "positions", "DELETE FROM device_transitions WHERE organisation_id = $1 AND time < $2", [
    org,
    cutoff(keep("positions", s.positions_days)),
  ]);
  // The newest fix per device is a copy of a position row, so it goes by the same limit.
  await client.query("DELETE FROM latest_positions WHERE organisation_id = $1 AND time < $2", [
    org,
    cutoff(keep("positions", s.positions_days)),
  ]);
  await del(org, "deviceStatus", "DELETE FROM device_status WHERE organisation_id = $1 AND time < $2", [
    org,
    cutoff(keep("device_status", s.device_status_days)),
  ]);
  await del(org, "deviceMessages", "DELETE FROM device_messages WHERE organisation_id = $1 AND time < $2", [
    org,
    cutoff(keep("device_messages", s.device_messages_days)),
  ]);
  await del(org, "deadLetters", "DELETE FROM dead_letters WHERE organisation_id = $1 AND received_at < $2", [
    org,
    cutoff(s.dead_letters_days),
  ]);
  // Closed alarms only: an open alarm is never removed, however old.
  await del(
    org,
    "alarms",
    `DELETE FROM alarms WHERE organisation_id = $1 AND state IN ('resolved', 'cancelled')
          AND coalesce(closed_at, raised_at) < $2`,
    [org, cutoff(s.alarms_days)],
  );
  const pruned = await client.query<{ n: string }>("SELECT vakt_activity_log_prune($1, $2) AS n", [org, now]);
  add(org, "activityLog", Number(pruned.rows[0]?.n ?? 0));

  await erasePeopleDue(client, pool, now, s, add);
}

/**
 * Erases the people whose time is up: recipients whose service ended GRACE_MONTHS ago (by the
 * organisation's calendar) and staff whose access ended as long ago, each in its own transaction.
 */
async function erasePeopleDue(
  client: pg.PoolClient,
  pool: pg.Pool,
  now: Date,
  s: OrgSettings,
  add: (org: string, category: string, rows: number) => void,
) {
  const org = s.organisation_id;
  const ended = await client.query<{ id: string; service_ended_on: string }>(
    `SELECT r.id, r.service_ended_on::text FROM recipients r
        WHERE r.organisation_id = $1 AND r.status = 'ended' AND r.service_ended_on IS NOT NULL
          AND (r.service_ended_on + make_interval(months => $3))::date <= ($2::timestamptz AT TIME ZONE $4)::date
        ORDER BY r.id`,
    [org, now, GRACE_MONTHS, s.time_zone],
  );
  for (const r of ended.rows) {
    await withTransaction(pool, (tx) =>
      eraseRecipient(tx, org, r.id, {
        actor: undefined,
        ip: null,
        now,
        trigger: "retention",
        reason: `Service ended ${r.service_ended_on}; personal data are removed ${GRACE_MONTHS} months after.`,
      }),
    );
    add(org, "recipientsErased", 1);
  }
  const users = await client.query<{ id: string; access_ended_at: Date }>(
    `SELECT id, access_ended_at FROM staff_users
        WHERE organisation_id = $1 AND access_ended_at IS NOT NULL
          AND access_ended_at + make_interval(months => $3) <= $2
        ORDER BY id`,
    [org, now, GRACE_MONTHS],
  );
  for (const u of users.rows) {
    await withTransaction(pool, (tx) =>
      eraseStaffUser(tx, org, u.id, {
        actor: undefined,
        ip: null,
        now,
        trigger: "retention",
        reason: `Access ended ${u.access_ended_at.toISOString()}; personal data are removed ${GRACE_MONTHS} months after.`,
      }),
    );
    add(org, "staffUsersErased", 1);
  }
}

/** keep_for of each time-series table, in whole days. */
export async function timeseriesCeilingsDays(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query<{ table_name: string; days: string }>(
    "SELECT table_name, floor(extract(epoch FROM keep_for) / 86400)::int AS days FROM timeseries_tables",
  );
  return Object.fromEntries(rows.map((r) => [r.table_name, Number(r.days)]));
}
