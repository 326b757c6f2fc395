/**
 * The retention job against a real database, with the injected clock: data
 * just inside a limit stays, just outside goes; runs are idempotent and
 * recorded; the activity log verifies after pruning and erasure, and its
 * append-only trigger still refuses ordinary changes.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addRecipient, addUser, createHarness, createOrg, type Harness, loggedIn } from "../../test/harness";
import { verifyActivityLog } from "../activity/reader";
import { runRetention } from "./job";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const DAY = 86_400_000;
const MIN = 60_000;

async function position(orgId: string, r: { recipientId: string; deviceId: string }, time: Date) {
  await h.db.pool.query(
    `INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon)
     VALUES ($1, $2, $3, $4, $5, 59.9, 10.7)`,
    [time, r.deviceId, orgId, r.recipientId, randomBytes(4).toString("hex")],
  );
}

async function logRow(orgId: string, at: Date) {
  await h.db.pool.query(
    `INSERT INTO activity_log (organisation_id, seq, at, actor_type, action, prev_hash, hash)
     VALUES ($1, 0, $2, 'system', 'test.row', '\\x', '\\x')`,
    [orgId, at],
  );
}

describe("retention job", () => {
  it("deletes by each organisation's settings, just outside goes and just inside stays, idempotently", async () => {
    const now = h.clock.now;
    const org = await createOrg(h);
    const other = await createOrg(h);
    const r = await addRecipient(h, org, org.departments.a1);
    const ro = await addRecipient(h, other, other.departments.a1);
    await h.db.pool.query(
      "INSERT INTO retention_settings (organisation_id, positions_days, device_status_days) VALUES ($1, 30, 10)",
      [org.organisationId],
    );
    const limit = new Date(now.getTime() - 30 * DAY);
    await position(org.organisationId, r, new Date(limit.getTime() - MIN)); // outside
    await position(org.organisationId, r, new Date(limit.getTime() + MIN)); // inside
    // The other organisation keeps the default 90 days: 31 days old stays.
    await position(other.organisationId, ro, new Date(now.getTime() - 31 * DAY));
    await h.db.pool.query(
      `INSERT INTO device_status (time, device_id, organisation_id, message_id) VALUES ($1, $3, $4, 'a'), ($2, $3, $4, 'b')`,
      // Just outside and just inside the organisation's 10 days (rows near the 90-day ceiling would
      // be gone with their partition on plain PostgreSQL before the DELETE counts them, not on TimescaleDB).
      [
        new Date(now.getTime() - 10 * DAY - MIN),
        new Date(now.getTime() - 10 * DAY + MIN),
        r.deviceId,
        org.organisationId,
      ],
    );
    // A closed alarm just past the default 1827 days goes; an open one as old stays.
    for (const [state, closed] of [
      ["resolved", true],
      ["open", false],
    ] as const) {
      await h.db.pool.query(
        `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
           condition_key, raised_at, state, closed_at)
         VALUES ($1, $2, $3, $4, 'no_contact', 'high', 'platform', $5, $6, $7, $8)`,
        [
          org.organisationId,
          org.departments.a1,
          r.deviceId,
          r.recipientId,
          state,
          new Date(now.getTime() - 1827 * DAY - MIN),
          state,
          closed ? new Date(now.getTime() - 1827 * DAY - MIN) : null,
        ],
      );
    }

    const first = await runRetention(h.db.pool, { now, trigger: "manual" });
    expect(first.status).toBe("succeeded");
    expect(first.counts[org.organisationId]).toMatchObject({ positions: 1, deviceStatus: 1, alarms: 1 });
    expect(first.counts[other.organisationId]?.positions).toBeUndefined();
    const left = await h.db.pool.query<{ organisation_id: string; n: number }>(
      "SELECT organisation_id, count(*)::int AS n FROM positions WHERE organisation_id = ANY($1) GROUP BY 1",
      [[org.organisationId, other.organisationId]],
    );
    expect(Object.fromEntries(left.rows.map((x) => [x.organisation_id, x.n]))).toEqual({
      [org.organisationId]: 1,
      [other.organisationId]: 1,
    });
    const alarms = await h.db.pool.query("SELECT state FROM alarms WHERE organisation_id = $1", [
      org.organisationId,
    ]);
    expect(alarms.rows).toEqual([{ state: "open" }]);

    const second = await runRetention(h.db.pool, { now, trigger: "manual" });
    expect(second.status).toBe("succeeded");
    expect(second.counts[org.organisationId]).toBeUndefined();

    // Both runs are recorded; the administrator sees their organisation's counts.
    const admin = await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }]);
    const runs = await (await loggedIn(h, admin.email)).get("/api/v1/privacy/retention/runs");
    const mine = runs.body.filter((x: { id: number }) => x.id === first.runId || x.id === second.runId);
    expect(mine).toHaveLength(2);
    expect(mine.find((x: { id: number }) => x.id === first.runId).counts).toMatchObject({
      positions: 1,
      alarms: 1,
    });
    expect(mine.find((x: { id: number }) => x.id === second.runId).counts).toEqual({});
  });

  it("erases recipients 6 months after their service ended and staff 6 months after their access ended", async () => {
    const now = h.clock.now; // 2026-03-02T10:00Z
    const org = await createOrg(h);
    const due = await addRecipient(h, org, org.departments.a1, "Due");
    const notYet = await addRecipient(h, org, org.departments.a1, "NotYet");
    await position(org.organisationId, due, new Date(now.getTime() - DAY));
    await h.db.pool.query("UPDATE recipients SET status = 'ended', service_ended_on = $2 WHERE id = $1", [
      due.recipientId,
      "2025-09-02",
    ]);
    await h.db.pool.query("UPDATE recipients SET status = 'ended', service_ended_on = $2 WHERE id = $1", [
      notYet.recipientId,
      "2025-09-03",
    ]);
    // Each has a call list: the due one's goes with them, the other's stays.
    for (const r of [due, notYet])
      await h.db.pool.query(
        `INSERT INTO recipient_contacts (organisation_id, recipient_id, position, name, relation, phone)
         VALUES ($1, $2, 1, 'Next of kin', 'next_of_kin', '+4791234567')`,
        [org.organisationId, r.recipientId],
      );
    const gone = await addUser(h, org, "gone", [{ role: "operator", departmentId: org.departments.a }]);
    const stays = await addUser(h, org, "stays", [{ role: "operator", departmentId: org.departments.a }]);
    await h.db.pool.query("UPDATE staff_users SET access_ended_at = $2 WHERE id = $1", [
      gone.id,
      new Date("2025-09-02T09:59:00Z"),
    ]);
    await h.db.pool.query("UPDATE staff_users SET access_ended_at = $2 WHERE id = $1", [
      stays.id,
      new Date("2025-09-02T10:01:00Z"),
    ]);
    await logRow(org.organisationId, new Date(now.getTime() - MIN));

    const run = await runRetention(h.db.pool, { now, trigger: "manual" });
    expect(run.counts[org.organisationId]).toMatchObject({ recipientsErased: 1, staffUsersErased: 1 });
    const recipients = await h.db.pool.query("SELECT first_name FROM recipients WHERE organisation_id = $1", [
      org.organisationId,
    ]);
    expect(recipients.rows).toEqual([{ first_name: "NotYet" }]);
    const contacts = await h.db.pool.query<{ recipient_id: string }>(
      "SELECT recipient_id FROM recipient_contacts WHERE organisation_id = $1",
      [org.organisationId],
    );
    expect(contacts.rows).toEqual([{ recipient_id: notYet.recipientId }]);
    const users = await h.db.pool.query<{ id: string }>(
      "SELECT id FROM staff_users WHERE organisation_id = $1",
      [org.organisationId],
    );
    expect(users.rows.map((u) => u.id)).toEqual([stays.id]);
    const records = await h.db.pool.query(
      "SELECT subject_type, subject_ref, trigger FROM erasure_records WHERE organisation_id = $1 ORDER BY subject_type",
      [org.organisationId],
    );
    expect(records.rows).toEqual([
      { subject_type: "recipient", subject_ref: due.recipientId, trigger: "retention" },
      { subject_type: "staff_user", subject_ref: gone.id, trigger: "retention" },
    ]);
    const pos = await h.db.pool.query("SELECT 1 FROM positions WHERE recipient_id = $1", [due.recipientId]);
    expect(pos.rows).toHaveLength(0);
    expect(await verifyActivityLog(h.db.pool, org.organisationId)).toMatchObject({ ok: true });
    const logged = await h.db.pool.query<{ actor_type: string; action: string }>(
      "SELECT actor_type, action FROM activity_log WHERE organisation_id = $1 AND action LIKE '%.erased' ORDER BY action",
      [org.organisationId],
    );
    expect(logged.rows).toEqual([
      { actor_type: "system", action: "recipient.erased" },
      { actor_type: "system", action: "user.erased" },
    ]);
  });

  it("prunes only a whole prefix of the activity log older than its retention, and the chain still verifies", async () => {
    const now = h.clock.now;
    const org = await createOrg(h);
    const keep = 730;
    await h.db.pool.query(
      "INSERT INTO retention_settings (organisation_id, activity_log_days) VALUES ($1, $2)",
      [org.organisationId, keep],
    );
    const limit = now.getTime() - keep * DAY;
    await logRow(org.organisationId, new Date(limit - 2 * DAY)); // seq 1: goes
    await logRow(org.organisationId, new Date(limit - MIN)); // seq 2: goes
    await logRow(org.organisationId, new Date(limit + MIN)); // seq 3: stays
    await logRow(org.organisationId, new Date(limit - MIN)); // seq 4: older, but after a kept row: stays
    await logRow(org.organisationId, new Date(now.getTime() - MIN)); // seq 5

    const run = await runRetention(h.db.pool, { now, trigger: "manual" });
    expect(run.counts[org.organisationId]?.activityLog).toBe(2);
    const seqs = await h.db.pool.query<{ seq: string }>(
      "SELECT seq FROM activity_log WHERE organisation_id = $1 ORDER BY seq",
      [org.organisationId],
    );
    expect(seqs.rows.map((r) => Number(r.seq))).toEqual([3, 4, 5]);
    expect(await verifyActivityLog(h.db.pool, org.organisationId)).toMatchObject({ ok: true, rows: 3 });
    // New rows chain on; a run as of far in the future prunes only as of the database's own clock
    // (the runtime role may call the prune), and never the newest row.
    await logRow(org.organisationId, now);
    const left = [limit + MIN, limit - MIN, now.getTime() - MIN, now.getTime()];
    const dbNow = (await h.db.pool.query<{ n: Date }>("SELECT now() AS n")).rows[0]?.n.getTime() ?? 0;
    const olderPrefix = left.findIndex((at) => at >= dbNow - keep * DAY);
    const expected = Math.min(olderPrefix === -1 ? left.length : olderPrefix, left.length - 1);
    const later = await runRetention(h.db.pool, {
      now: new Date(now.getTime() + 3000 * DAY),
      trigger: "manual",
    });
    expect(later.counts[org.organisationId]?.activityLog ?? 0).toBe(expected);
    expect(await verifyActivityLog(h.db.pool, org.organisationId)).toMatchObject({
      ok: true,
      rows: left.length - expected,
    });

    // Ordinary changes are still refused, with or without the prune setting.
    const c = await h.db.pool.connect();
    try {
      await expect(
        c.query("DELETE FROM activity_log WHERE organisation_id = $1", [org.organisationId]),
      ).rejects.toThrow(/append-only/);
      await c.query("BEGIN");
      await c.query("SELECT set_config('vakt.activity_log_prune', 'on', true)");
      await expect(
        c.query("DELETE FROM activity_log WHERE organisation_id = $1", [org.organisationId]),
      ).rejects.toThrow(/append-only/);
      await c.query("ROLLBACK");
      await expect(
        c.query("UPDATE activity_log SET action = 'x' WHERE organisation_id = $1", [org.organisationId]),
      ).rejects.toThrow(/append-only/);
      await expect(
        c.query("DELETE FROM activity_log_anchors WHERE organisation_id = $1", [org.organisationId]),
      ).rejects.toThrow(/refused/);
    } finally {
      c.release();
    }
  });

  it("refuses to prune a log that does not verify", async () => {
    const now = h.clock.now;
    const org = await createOrg(h);
    await h.db.pool.query(
      "INSERT INTO retention_settings (organisation_id, activity_log_days) VALUES ($1, 730)",
      [org.organisationId],
    );
    await logRow(org.organisationId, new Date(now.getTime() - 800 * DAY));
    await logRow(org.organisationId, new Date(now.getTime() - 800 * DAY));
    await logRow(org.organisationId, now);
    // Tamper as the table owner would: with the trigger disabled.
    await h.db.pool.query("ALTER TABLE activity_log DISABLE TRIGGER activity_log_append_only");
    try {
      await h.db.pool.query(
        "UPDATE activity_log SET action = 'tampered' WHERE organisation_id = $1 AND seq = 1",
        [org.organisationId],
      );
    } finally {
      await h.db.pool.query("ALTER TABLE activity_log ENABLE TRIGGER activity_log_append_only");
    }
    const run = await runRetention(h.db.pool, { now, trigger: "manual" });
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/does not verify/);
    const n = await h.db.pool.query(
      "SELECT count(*)::int AS n FROM activity_log WHERE organisation_id = $1",
      [org.organisationId],
    );
    expect(n.rows[0]).toEqual({ n: 3 });
    // Remove the tampered organisation's rows from the job's way: later tests use fresh organisations,
    // but the job runs over all, so this test's organisation must not fail them.
    await h.db.pool.query(
      "UPDATE retention_settings SET activity_log_days = 3653 WHERE organisation_id = $1",
      [org.organisationId],
    );
  });
});
