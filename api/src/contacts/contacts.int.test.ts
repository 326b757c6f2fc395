/**
 * The call list (issue 16 item 2): contacts per recipient, calls logged on an
 * alarm, the user's own profile; hostile phone numbers and names from
 * fast-check never give a 5xx, invalid ones a 400 problem; views are logged;
 * contacts are in the export and go with the recipient's erasure.
 */
import { INJECTION_STRINGS } from "@vakt/schemas/testing";
import fc from "fast-check";
import { isValidPhoneNumber } from "libphonenumber-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addRecipient,
  addUser,
  type Client,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  type TestOrg,
} from "../../test/harness";

let h: Harness;
let org: TestOrg;
let admin: Client;
let operator: Client;
let operatorId: string;

beforeAll(async () => {
  h = await createHarness();
  org = await createOrg(h);
  const a = await addUser(h, org, "admin", [{ role: "dept_admin", departmentId: org.departments.a }]);
  const o = await addUser(h, org, "operator", [{ role: "operator", departmentId: org.departments.a }]);
  operatorId = o.id;
  admin = await loggedIn(h, a.email);
  operator = await loggedIn(h, o.email);
});
afterAll(async () => {
  await h.close();
});

async function alarmFor(recipientId: string, deviceId: string) {
  const { rows } = await h.db.pool.query<{ id: string }>(
    `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source, raised_at)
     VALUES ($1, $2, $3, $4, 'no_contact', 'high', 'platform', now()) RETURNING id`,
    [org.organisationId, org.departments.a1, deviceId, recipientId],
  );
  return rows[0]?.id as string;
}

const activity = async (action: string, recipientId: string) =>
  (
    await h.db.pool.query<{ actor_id: string }>(
      "SELECT actor_id FROM activity_log WHERE organisation_id = $1 AND action = $2 AND $3::uuid = ANY(recipient_ids)",
      [org.organisationId, action, recipientId],
    )
  ).rows;

describe("call list", () => {
  it("keeps contacts in order, national numbers as E.164, and logs every view", async () => {
    const r = await addRecipient(h, org, org.departments.a1);
    const base = `/api/v1/recipients/${r.recipientId}/contacts`;
    const kari = await admin.post(base, {
      name: "Kari Nordmann",
      relation: "next_of_kin",
      phone: "912 34 567",
    });
    expect(kari.status).toBe(201);
    expect(kari.body).toMatchObject({ position: 1, phone: "+4791234567", relation: "next_of_kin" });
    const ola = await admin.post(base, {
      name: "Ola Nabo",
      relation: "neighbour",
      phone: "+47 412 34 567",
      availability: "08-22",
      notes: "Has a key",
    });
    expect(ola.body).toMatchObject({ position: 2, phone: "+4741234567" });
    const reordered = await admin.put(`${base}/order`, { ids: [ola.body.id, kari.body.id] });
    expect(reordered.status).toBe(200);
    expect(reordered.body.map((c: { name: string }) => c.name)).toEqual(["Ola Nabo", "Kari Nordmann"]);
    expect((await admin.put(`${base}/order`, { ids: [ola.body.id] })).status).toBe(400);
    expect((await admin.put(`${base}/order`, { ids: [ola.body.id, ola.body.id] })).status).toBe(400);

    const seen = await operator.get(base);
    expect(seen.status).toBe(200);
    expect(seen.body.map((c: { position: number }) => c.position)).toEqual([1, 2]);
    const views = await activity("contacts.viewed", r.recipientId);
    expect(views.map((v) => v.actor_id)).toContain(operatorId);

    // Operators read but never change the list.
    expect((await operator.post(base, { name: "X", relation: "other", phone: "+4791234568" })).status).toBe(
      403,
    );
    const changed = await admin.patch(`${base}/${kari.body.id}`, { phone: "+46 70 123 45 67" });
    expect(changed.body.phone).toBe("+46701234567");
    const log = await h.db.pool.query<{ details: { changes: Record<string, unknown> } }>(
      "SELECT details FROM activity_log WHERE action = 'contact.updated' AND subject_id = $1",
      [kari.body.id],
    );
    // Rectification is logged without the values.
    expect(JSON.stringify(log.rows)).not.toContain("46701234567");
    expect((await admin.delete(`${base}/${ola.body.id}`)).status).toBe(204);
    expect((await operator.get(base)).body).toMatchObject([{ name: "Kari Nordmann", position: 1 }]);
  });

  it("answers a foreign organisation, another department and an auditor with 404 or 403 (tokens: the permission matrix)", async () => {
    const r = await addRecipient(h, org, org.departments.a1);
    const base = `/api/v1/recipients/${r.recipientId}/contacts`;
    const other = await createOrg(h);
    const foreign = await loggedIn(
      h,
      (await addUser(h, other, "admin", [{ role: "org_admin", departmentId: null }])).email,
    );
    expect((await foreign.get(base)).status).toBe(404);
    expect((await foreign.post(base, { name: "X", relation: "other", phone: "+4791234567" })).status).toBe(
      404,
    );
    const outside = await loggedIn(
      h,
      (await addUser(h, org, "op-b", [{ role: "operator", departmentId: org.departments.b }])).email,
    );
    expect((await outside.get(base)).status).toBe(404);
    const auditor = await loggedIn(
      h,
      (await addUser(h, org, "aud", [{ role: "auditor", departmentId: org.departments.a }])).email,
    );
    expect((await auditor.get(base)).status).toBe(403);
  });

  it("refuses hostile phone numbers and names with a 400 problem, never a 5xx, and stores valid ones as E.164", async () => {
    const r = await addRecipient(h, org, org.departments.a1);
    const base = `/api/v1/recipients/${r.recipientId}/contacts`;
    const phone = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        ...INJECTION_STRINGS,
        "",
        " ",
        "+",
        "+0",
        "00000000",
        "+4700000000",
        "١٢٣٤٥٦٧٨",
        "+47\u0000912",
      ),
      fc.stringMatching(/^\+?[0-9 ()-]{0,30}$/),
      fc.integer({ min: 10_000_000, max: 99_999_999 }).map(String),
    );
    const name = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom(...INJECTION_STRINGS));
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(phone, name, async (p, n) => {
        const res = await admin.post(base, { name: n, relation: "other", phone: p });
        expect(res.status).toBeLessThan(500);
        const shouldPass =
          isValidPhoneNumber(p.trim(), "NO") && n.trim().length >= 1 && n.trim().length <= 200;
        if (res.status === 201) {
          valid++;
          expect(shouldPass).toBe(true);
          expect(res.body.phone).toMatch(/^\+[1-9][0-9]{5,15}$/);
          expect(res.body.name).toBe(n.trim());
          await admin.delete(`${base}/${res.body.id}`);
        } else {
          expect(res.status).toBe(400);
          expect(res.headers.get("content-type")).toContain("application/problem+json");
          expect(res.body.status).toBe(400);
        }
      }),
      { numRuns: 150, seed: 1602 },
    );
    expect(valid).toBeGreaterThan(0);
    // The same rule for staff phones: the profile and the administrators' user form.
    await fc.assert(
      fc.asyncProperty(phone, async (p) => {
        const res = await operator.patch("/api/v1/auth/profile", { phone: p });
        expect(res.status).toBeLessThan(500);
        if (res.status !== 200) expect(res.body.status).toBe(400);
        else expect(res.body.phone).toMatch(/^\+[1-9][0-9]{5,15}$/);
        const byAdmin = await admin.patch(`/api/v1/users/${operatorId}`, { phone: p });
        expect(byAdmin.status).toBeLessThan(500);
        expect(byAdmin.status === 200).toBe(res.status === 200);
      }),
      { numRuns: 60, seed: 1603 },
    );
  });
});

describe("calls on an alarm", () => {
  it("logs a call into the alarm's history and the activity log, named for those who may read the list", async () => {
    const r = await addRecipient(h, org, org.departments.a1);
    const kari = await admin.post(`/api/v1/recipients/${r.recipientId}/contacts`, {
      name: "Kari Nordmann",
      relation: "next_of_kin",
      phone: "91234567",
    });
    const alarmId = await alarmFor(r.recipientId, r.deviceId);
    const call = await operator.post(`/api/v1/alarms/${alarmId}/calls`, {
      contactId: kari.body.id,
      result: "no_answer",
      note: "Voicemail",
    });
    expect(call.status).toBe(201);
    expect(call.body).toMatchObject({ kind: "called", result: "no_answer" });
    const detail = await operator.get(`/api/v1/alarms/${alarmId}`);
    const called = detail.body.transitions.find((t: { kind: string }) => t.kind === "called");
    expect(called).toMatchObject({
      note: "Voicemail",
      actor: { id: operatorId },
      details: { result: "no_answer", contactName: "Kari Nordmann", contactPhone: "+4791234567" },
    });
    expect((await activity("alarm.called", r.recipientId)).map((a) => a.actor_id)).toEqual([operatorId]);
    // A contact of another recipient, a bad result, or an administrator who does not take alarms: refused.
    const other = await addRecipient(h, org, org.departments.a1);
    const stranger = await admin.post(`/api/v1/recipients/${other.recipientId}/contacts`, {
      name: "Not theirs",
      relation: "other",
      phone: "41234567",
    });
    expect(
      (
        await operator.post(`/api/v1/alarms/${alarmId}/calls`, {
          contactId: stranger.body.id,
          result: "reached",
        })
      ).status,
    ).toBe(404);
    expect(
      (await operator.post(`/api/v1/alarms/${alarmId}/calls`, { contactId: kari.body.id, result: "maybe" }))
        .status,
    ).toBe(400);
    expect(
      (await admin.post(`/api/v1/alarms/${alarmId}/calls`, { contactId: kari.body.id, result: "reached" }))
        .status,
    ).toBe(403);
  });

  it("puts the call list in the export and erases it with the recipient, keeping only how calls went", async () => {
    const orgAdmin = await loggedIn(
      h,
      (await addUser(h, org, "orgadmin", [{ role: "org_admin", departmentId: null }])).email,
    );
    const r = await addRecipient(h, org, org.departments.a1);
    const kari = await admin.post(`/api/v1/recipients/${r.recipientId}/contacts`, {
      name: "Kari Nordmann",
      relation: "next_of_kin",
      phone: "91234567",
      notes: "Daughter",
    });
    const alarmId = await alarmFor(r.recipientId, r.deviceId);
    await operator.post(`/api/v1/alarms/${alarmId}/calls`, { contactId: kari.body.id, result: "reached" });
    const exported = await orgAdmin.get(`/api/v1/privacy/recipients/${r.recipientId}/export?format=json`);
    expect(exported.status).toBe(200);
    expect(exported.body.contacts).toMatchObject([
      { name: "Kari Nordmann", phone: "+4791234567", notes: "Daughter" },
    ]);
    expect(
      exported.body.alarms[0].transitions.find((t: { kind: string }) => t.kind === "called").details,
    ).toEqual({
      contactId: kari.body.id,
      result: "reached",
    });
    const erased = await orgAdmin.post(`/api/v1/privacy/recipients/${r.recipientId}/erasure`, {
      reason: "asked by next of kin",
    });
    expect(erased.status).toBe(200);
    expect(erased.body.counts.contacts).toBe(1);
    const left = await h.db.pool.query("SELECT 1 FROM recipient_contacts WHERE recipient_id = $1", [
      r.recipientId,
    ]);
    expect(left.rowCount).toBe(0);
    const t = await h.db.pool.query<{ details: unknown }>(
      "SELECT details FROM alarm_transitions WHERE alarm_id = $1 AND kind = 'called'",
      [alarmId],
    );
    expect(t.rows).toEqual([{ details: { result: "reached" } }]);
  });
});

describe("my profile", () => {
  it("keeps the user's phone (E.164) and sound on the server, across logins", async () => {
    expect((await operator.get("/api/v1/auth/profile")).body).toMatchObject({ sound: null });
    const set = await operator.patch("/api/v1/auth/profile", {
      phone: "41234567",
      sound: { newAlarms: false, asked: true, repeatS: 30 },
    });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ phone: "+4741234567", sound: { newAlarms: false, asked: true, repeatS: 30 } });
    const again = await loggedIn(h, org.users.operator?.email as string);
    expect((await again.get("/api/v1/auth/profile")).body.sound).toEqual({
      newAlarms: false,
      asked: true,
      repeatS: 30,
    });
    expect(
      (await operator.patch("/api/v1/auth/profile", { sound: { newAlarms: true, asked: true, repeatS: 7 } }))
        .status,
    ).toBe(400);
    const row = await h.db.pool.query<{ phone: string }>("SELECT phone FROM staff_users WHERE id = $1", [
      operatorId,
    ]);
    expect(row.rows[0]?.phone).toBe("+4741234567");
    expect((await operator.patch("/api/v1/auth/profile", { phone: null })).body.phone).toBeNull();
  });
});
