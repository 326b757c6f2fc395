/**
 * Staff phone numbers stored before numbers were checked (legacy rows that are
 * not E.164): the SMS channel never sends to one (skipped, with a reason the
 * timeline words), the users list marks it as needing correction with its
 * E.164 form when one can be read, and only an administrator's save changes it.
 */
import { randomBytes } from "node:crypto";
import { e164Phone, isE164 } from "@vakt/schemas";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addRecipient,
  addUser,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  type TestOrg,
  until,
} from "../../test/harness";
import { startApiServer } from "../server";

let h: Harness;
let org: TestOrg;
let admin: Awaited<ReturnType<typeof loggedIn>>;
const sent: string[] = [];

beforeAll(async () => {
  h = await createHarness();
  h.clock.now = new Date();
  org = await createOrg(h);
  admin = await loggedIn(
    h,
    (await addUser(h, org, "phoneadmin", [{ role: "org_admin", departmentId: null }])).email,
  );
}, 30_000);
afterAll(async () => {
  await h.close();
});

/** As stored before the check: national, spaced, with 00, or not a number at all. */
const LEGACY = ["912 34 567", "+47 912 34 568", "004791234569", "12345", "ring resepsjonen"];

async function legacyUser(phone: string | null) {
  const u = await addUser(h, org, `Legacy${randomBytes(2).toString("hex")}`, [
    { role: "operator", departmentId: org.departments.b },
  ]);
  await h.db.pool.query("UPDATE staff_users SET phone = $2 WHERE id = $1", [u.id, phone]);
  return u;
}

describe("legacy staff phone numbers", () => {
  it("the SMS channel sends only to valid E.164 and records each skip with its reason", async () => {
    const valid = await legacyUser("+4791234560");
    const legacy = await Promise.all(LEGACY.map((p) => legacyUser(p)));
    const none = await legacyUser(null);
    // An SMS endpoint whose number was stored before the check too.
    const ep = await admin.post("/api/v1/alert-endpoints", {
      departmentId: org.departments.b,
      name: "vakttelefon",
      kind: "sms",
      target: "+4791234561",
    });
    expect(ep.status).toBe(201);
    await h.db.pool.query("UPDATE alert_endpoints SET target = '912 34 561' WHERE id = $1", [ep.body.id]);
    const rule = await admin.post("/api/v1/alert-rules", {
      departmentId: org.departments.b,
      name: "sms",
      alarmTypes: ["sos"],
      steps: [
        {
          waitS: 600,
          users: [valid.id, ...legacy.map((u) => u.id), none.id],
          channels: ["sms"],
          endpointIds: [ep.body.id],
        },
      ],
    });
    expect(rule.status).toBe(201);
    const api = await startApiServer({
      ...h.deps,
      sms: { send: async (to) => void sent.push(to) },
      clock: { now: () => new Date() },
      port: 0,
      host: "127.0.0.1",
      live: false,
      alerting: { concurrency: 2, pollIntervalMs: 100 },
    });
    try {
      const r = await addRecipient(h, org, org.departments.b, "Sms");
      const { rows } = await h.db.pool.query<{ id: string }>(
        `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source, raised_at,
                             device_message_id)
         VALUES ($1, $2, $3, $4, 'sos', 'critical', 'device', now(), $5) RETURNING id`,
        [
          org.organisationId,
          org.departments.b,
          r.deviceId,
          r.recipientId,
          `m-${randomBytes(4).toString("hex")}`,
        ],
      );
      const alarmId = rows[0]?.id as string;
      expect(await api.alerting?.claim(alarmId)).toBe(true);
      const count = LEGACY.length + 3;
      await until("every delivery recorded", async () => {
        const d = await admin.get(`/api/v1/alarms/${alarmId}`);
        return d.body.deliveries.length >= count;
      });
      expect(sent).toEqual(["+4791234560"]);
      const d = (await admin.get(`/api/v1/alarms/${alarmId}`)).body.deliveries as {
        target: string;
        result: string;
        reason: string | null;
        targetName: string | null;
      }[];
      expect(d).toHaveLength(count);
      const skipped = d.filter((x) => x.result === "skipped");
      // Each legacy user by id (the timeline names them), never their malformed number as a target.
      expect(skipped.filter((x) => x.reason === "phone_not_e164").map((x) => x.target)).toEqual(
        expect.arrayContaining([...legacy.map((u) => u.id), "912 34 561"]),
      );
      expect(skipped.filter((x) => x.reason === "phone_not_e164")).toHaveLength(LEGACY.length + 1);
      expect(skipped.find((x) => x.target === none.id)?.reason).toBe("no_phone");
      for (const u of legacy)
        expect(skipped.find((x) => x.target === u.id)?.targetName).toMatch(/^Test Legacy/);
      expect(d.filter((x) => x.result === "sent").map((x) => x.target)).toEqual(["+4791234560"]);
    } finally {
      await api.close();
    }
  }, 60_000);

  it("the users list marks a legacy number for correction; the administrator's save normalises it, nothing else does", async () => {
    const readable = await legacyUser("912 34 570");
    const unreadable = await legacyUser("12345");
    const fine = await legacyUser("+4791234571");
    const listed = async (id: string) =>
      ((await admin.get("/api/v1/users")).body as { id: string }[]).find((u) => u.id === id) as unknown as {
        phone: string | null;
        phoneNeedsCorrection: boolean;
        phoneSuggestion: string | null;
      };
    expect(await listed(readable.id)).toMatchObject({
      phone: "912 34 570",
      phoneNeedsCorrection: true,
      phoneSuggestion: "+4791234570",
    });
    expect(await listed(unreadable.id)).toMatchObject({ phoneNeedsCorrection: true, phoneSuggestion: null });
    expect(await listed(fine.id)).toMatchObject({ phoneNeedsCorrection: false, phoneSuggestion: null });
    // Reading it changed nothing stored.
    const stored = async (id: string) =>
      (await h.db.pool.query<{ phone: string | null }>("SELECT phone FROM staff_users WHERE id = $1", [id]))
        .rows[0]?.phone;
    expect(await stored(readable.id)).toBe("912 34 570");
    // A bad number is refused and nothing changes; the suggestion saved is stored as E.164.
    const bad = await admin.patch(`/api/v1/users/${unreadable.id}`, { phone: "12345" });
    expect(bad.status).toBe(400);
    expect(await stored(unreadable.id)).toBe("12345");
    const saved = await admin.patch(`/api/v1/users/${readable.id}`, { phone: "912 34 570" });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ phone: "+4791234570", phoneNeedsCorrection: false });
    expect(await stored(readable.id)).toBe("+4791234570");
  });

  it("isE164 holds exactly for what the phone schema stores", () => {
    const digits = fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 16 });
    const written = fc.oneof(
      fc.string(),
      digits,
      digits.map((d) => `+${d}`),
      digits.map((d) => `+47${d}`),
      fc.tuple(digits, digits).map(([a, b]) => `+47 ${a} ${b}`),
      digits.map((d) => `00${d}`),
    );
    fc.assert(
      fc.property(written, (s) => {
        const parsed = e164Phone.safeParse(s);
        if (isE164(s)) expect(parsed.success && parsed.data).toBe(s);
        if (parsed.success) expect(isE164(parsed.data)).toBe(true);
        if (/\s/.test(s) || !s.startsWith("+")) expect(isE164(s)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
