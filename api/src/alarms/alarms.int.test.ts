import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addRecipient,
  addUser,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  type TestOrg,
} from "../../test/harness";

let h: Harness;
let org: TestOrg;

beforeAll(async () => {
  h = await createHarness();
  org = await createOrg(h);
  await addUser(h, org, "op1", [{ role: "operator", departmentId: org.departments.a }]);
  await addUser(h, org, "op2", [{ role: "operator", departmentId: org.departments.a1 }]);
  await addUser(h, org, "opB", [{ role: "operator", departmentId: org.departments.b }]);
});
afterAll(async () => {
  await h.close();
});

/** An alarm as ingest stores it: a device alarm with its `raised` transition. */
async function raise(departmentId: string, type = "sos", severity = "critical") {
  const r = await addRecipient(h, org, departmentId, "Kari");
  const messageId = `m-${randomBytes(4).toString("hex")}`;
  const { rows } = await h.db.pool.query<{ id: string }>(
    `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                         device_message_id, raised_at, lat, lon, accuracy_m)
     VALUES ($1, $2, $3, $4, $5, $6, 'device', $7, $8, 59.91, 10.75, 12) RETURNING id`,
    [org.organisationId, departmentId, r.deviceId, r.recipientId, type, severity, messageId, h.clock.now],
  );
  const alarmId = rows[0]?.id as string;
  await h.db.pool.query(
    "INSERT INTO alarm_transitions (organisation_id, alarm_id, at, kind, to_state) VALUES ($1, $2, $3, 'raised', 'open')",
    [org.organisationId, alarmId, h.clock.now],
  );
  await h.db.pool.query("UPDATE devices SET tracking_until = $2 WHERE id = $1", [
    r.deviceId,
    new Date(h.clock.now.getTime() + 3_600_000),
  ]);
  const serial = (await h.db.pool.query("SELECT serial FROM devices WHERE id = $1", [r.deviceId])).rows[0]
    .serial as string;
  return { alarmId, messageId, serial, ...r };
}

async function activity(alarmId: string) {
  const { rows } = await h.db.pool.query<{ action: string; actor_id: string }>(
    "SELECT action, actor_id FROM activity_log WHERE subject_id = $1 ORDER BY seq",
    [alarmId],
  );
  return rows;
}

describe("alarm lifecycle", () => {
  it("two operators take the same alarm at once: one wins, the other gets 409 naming the holder", async () => {
    const a = await raise(org.departments.a1);
    const [c1, c2] = await Promise.all([
      loggedIn(h, org.users.op1?.email as string),
      loggedIn(h, org.users.op2?.email as string),
    ]);
    const results = await Promise.all([
      c1.post(`/api/v1/alarms/${a.alarmId}/take`, {}),
      c2.post(`/api/v1/alarms/${a.alarmId}/take`, {}),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    const winner = results.find((r) => r.status === 200)?.body;
    const loser = results.find((r) => r.status === 409)?.body;
    expect(winner.state).toBe("acknowledged");
    expect(loser.holder).toEqual({ id: winner.assignee.id, name: winner.assignee.name });
    expect(loser.state).toBe("acknowledged");
    expect(loser.detail).toContain(winner.assignee.name);
    // One acknowledged transition, attributed; one activity row; the device told "taken".
    const t = await h.db.pool.query(
      "SELECT kind, actor_user_id FROM alarm_transitions WHERE alarm_id = $1 AND kind = 'acknowledged'",
      [a.alarmId],
    );
    expect(t.rows).toEqual([{ kind: "acknowledged", actor_user_id: winner.assignee.id }]);
    expect(await activity(a.alarmId)).toEqual([{ action: "alarm.taken", actor_id: winner.assignee.id }]);
    expect(h.acks.filter((x) => x.message.alarmId === a.alarmId).map((x) => x.message)).toEqual([
      expect.objectContaining({ ackOf: a.messageId, status: "taken", alarmId: a.alarmId }),
    ]);
  });

  it("comment, resolve with outcome and note (tracking stops), reopen, cancel; all in the detail", async () => {
    const a = await raise(org.departments.a1);
    const c = await loggedIn(h, org.users.op1?.email as string);
    expect((await c.post(`/api/v1/alarms/${a.alarmId}/take`, {})).status).toBe(200);
    expect((await c.post(`/api/v1/alarms/${a.alarmId}/comments`, { note: "Calling her" })).status).toBe(200);
    expect(
      (await c.post(`/api/v1/alarms/${a.alarmId}/resolve`, { outcome: "false_alarm", note: "x" })).status,
    ).toBe(400);
    const resolved = await c.post(`/api/v1/alarms/${a.alarmId}/resolve`, {
      outcome: "helped_on_site",
      note: "Helped up from the floor",
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ state: "resolved", outcome: "helped_on_site" });
    expect(resolved.body.device.trackingUntil).toBeNull();
    expect(h.commands.filter((x) => x.serial === a.serial).map((x) => x.message.command)).toEqual([
      "stop_tracking",
    ]);
    // Resolving again is a conflict; reopening works once.
    expect(
      (await c.post(`/api/v1/alarms/${a.alarmId}/resolve`, { outcome: "other", note: "n" })).status,
    ).toBe(409);
    const reopened = await c.post(`/api/v1/alarms/${a.alarmId}/reopen`, { note: "She fell again" });
    expect(reopened.body).toMatchObject({ state: "open", assignee: null, outcome: null });
    const cancelled = await c.post(`/api/v1/alarms/${a.alarmId}/cancel`, { note: "Pressed by mistake" });
    expect(cancelled.body).toMatchObject({ state: "cancelled", outcome: "false_alarm" });

    const detail = await c.get(`/api/v1/alarms/${a.alarmId}`);
    expect(detail.status).toBe(200);
    expect(detail.body.transitions.map((t: { kind: string }) => t.kind)).toEqual([
      "raised",
      "acknowledged",
      "commented",
      "resolved",
      "reopened",
      "cancelled",
    ]);
    expect(detail.body.transitions[2]).toMatchObject({ note: "Calling her", actor: { type: "user" } });
    expect(detail.body.transitions[0].actor).toEqual({ type: "system", id: null, name: null });
    expect(h.acks.filter((x) => x.message.alarmId === a.alarmId).map((x) => x.message.status)).toEqual([
      "taken",
      "resolved",
      "cancelled",
    ]);
    expect((await activity(a.alarmId)).map((r) => r.action)).toEqual([
      "alarm.taken",
      "alarm.commented",
      "alarm.resolved",
      "alarm.reopened",
      "alarm.cancelled",
      "alarm.opened",
    ]);
  });

  it("lists with filters and pages, only within the caller's departments", async () => {
    const inA = await raise(org.departments.a1, "fall", "high");
    const inB = await raise(org.departments.b1, "sos", "critical");
    const c = await loggedIn(h, org.users.op1?.email as string);
    const all = await c.get("/api/v1/alarms?limit=500");
    const ids = all.body.items.map((x: { id: string }) => x.id);
    expect(ids).toContain(inA.alarmId);
    expect(ids).not.toContain(inB.alarmId);
    const falls = await c.get("/api/v1/alarms?type=fall&state=open,acknowledged&severity=high");
    expect(falls.body.items.map((x: { id: string }) => x.id)).toEqual([inA.alarmId]);
    const page1 = await c.get("/api/v1/alarms?limit=1");
    expect(page1.body.items).toHaveLength(1);
    const page2 = await c.get(`/api/v1/alarms?limit=1&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items[0].id).not.toBe(page1.body.items[0].id);
    const byDept = await c.get(`/api/v1/alarms?departmentId=${org.departments.b}`);
    expect(byDept.body.items).toEqual([]);
    // The other department's operator neither sees nor takes it.
    const b = await loggedIn(h, org.users.opB?.email as string);
    expect((await b.get(`/api/v1/alarms/${inA.alarmId}`)).status).toBe(404);
    expect((await b.post(`/api/v1/alarms/${inA.alarmId}/take`, {})).status).toBe(404);
  });

  it("locate on an OwnTracks device publishes reportLocation on the app's own /cmd topic", async () => {
    const r = await addRecipient(h, org, org.departments.a1, "Kari");
    await h.db.pool.query("UPDATE devices SET protocol = 'owntracks' WHERE id = $1", [r.deviceId]);
    const c = await loggedIn(h, org.users.op1?.email as string);
    // Not heard from yet: where the app listens is not known.
    const early = await c.post(`/api/v1/devices/${r.deviceId}/locate`, {});
    expect(early.status).toBe(409);
    const { rows } = await h.db.pool.query<{ serial: string }>("SELECT serial FROM devices WHERE id = $1", [
      r.deviceId,
    ]);
    const serial = rows[0]?.serial as string;
    for (const [topic, at] of [
      [`owntracks/old-user/${serial}`, "2026-03-01T09:00:00Z"],
      [`owntracks/kari/${serial}/event`, "2026-03-02T09:00:00Z"],
    ] as const) {
      await h.db.pool.query(
        `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload)
         VALUES ($1, $2, $3, 'uplink', $4, $5, 'owntracks_transition', '{}')`,
        [at, r.deviceId, org.organisationId, topic, `ot-${at}`],
      );
    }
    const before = h.commands.length;
    const res = await c.post(`/api/v1/devices/${r.deviceId}/locate`, {});
    expect(res.status).toBe(202);
    expect(h.owntracksCommands.at(-1)).toEqual({
      topic: `owntracks/kari/${serial}/cmd`,
      message: { _type: "cmd", action: "reportLocation" },
    });
    expect(h.commands.length).toBe(before);
  });

  it("locate on an OsmAnd device answers 409 and sends nothing (it only reports over HTTP)", async () => {
    const r = await addRecipient(h, org, org.departments.a1, "Osmund");
    await h.db.pool.query("UPDATE devices SET protocol = 'osmand' WHERE id = $1", [r.deviceId]);
    const c = await loggedIn(h, org.users.op1?.email as string);
    const before = [h.commands.length, h.owntracksCommands.length];
    const res = await c.post(`/api/v1/devices/${r.deviceId}/locate`, {});
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(/OsmAnd/);
    expect([h.commands.length, h.owntracksCommands.length]).toEqual(before);
    const logged = await h.db.pool.query("SELECT 1 FROM activity_log WHERE subject_id = $1", [r.deviceId]);
    expect(logged.rows).toEqual([]);
  });

  it("locate sends a locate command to the device and logs it", async () => {
    const r = await addRecipient(h, org, org.departments.a1, "Ola");
    const c = await loggedIn(h, org.users.op1?.email as string);
    const res = await c.post(`/api/v1/devices/${r.deviceId}/locate`, {});
    expect(res.status).toBe(202);
    expect(h.commands.at(-1)?.message).toEqual({ v: 1, id: res.body.commandId, command: "locate" });
    const log = await h.db.pool.query(
      "SELECT action, recipient_ids FROM activity_log WHERE subject_id = $1",
      [r.deviceId],
    );
    expect(log.rows).toEqual([{ action: "device.locate_requested", recipient_ids: [r.recipientId] }]);
  });

  it("a locator locates by recipient: a reason first, only in their departments, never a device-less recipient", async () => {
    await addUser(h, org, "loc1", [{ role: "locator", departmentId: org.departments.a }]);
    const r = await addRecipient(h, org, org.departments.a1, "Liv");
    const other = await addRecipient(h, org, org.departments.b, "Bjørn");
    const c = await loggedIn(h, org.users.loc1?.email as string);
    const short = await c.post(`/api/v1/recipients/${r.recipientId}/locate`, { reason: "fordi" });
    expect(short.status).toBe(400);
    expect(short.body.type).toContain("reason-required");
    const sent = h.commands.length;
    const res = await c.post(`/api/v1/recipients/${r.recipientId}/locate`, {
      reason: "Savnet fra bofellesskapet",
    });
    expect(res.status).toBe(202);
    expect(res.body.deviceId).toBe(r.deviceId);
    expect(h.commands.length).toBe(sent + 1);
    const log = await h.db.pool.query("SELECT action, reason FROM activity_log WHERE subject_id = $1", [
      r.deviceId,
    ]);
    expect(log.rows).toEqual([{ action: "device.locate_requested", reason: "Savnet fra bofellesskapet" }]);
    // Another department's recipient, and one whose device is retired, are the same 404.
    expect(
      (
        await c.post(`/api/v1/recipients/${other.recipientId}/locate`, {
          reason: "Savnet fra bofellesskapet",
        })
      ).status,
    ).toBe(404);
    await h.db.pool.query("UPDATE devices SET retired_at = now() WHERE id = $1", [r.deviceId]);
    expect(
      (await c.post(`/api/v1/recipients/${r.recipientId}/locate`, { reason: "Savnet fra bofellesskapet" }))
        .status,
    ).toBe(404);
    expect(h.commands.length).toBe(sent + 1);
  });
});
