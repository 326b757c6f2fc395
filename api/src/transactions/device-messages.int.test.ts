import fc from "fast-check";
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

beforeAll(async () => {
  h = await createHarness();
  org = await createOrg(h);
  admin = await loggedIn(
    h,
    (await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }])).email,
  );
});
afterAll(async () => {
  await h.close();
});

interface Entry {
  time: string;
  direction: "uplink" | "downlink";
  topic: string;
  kind: string;
  messageId: string | null;
  payload: string | null;
  contentWithheld: boolean;
}

/** Every page of a device's log, following nextBefore. */
async function allPages(c: Client, deviceId: string, limit: number, extra = "") {
  const seen: Entry[] = [];
  let before: string | null = null;
  for (let pages = 0; pages < 1_000; pages++) {
    const res = await c.get(
      `/api/v1/device-messages?deviceId=${deviceId}&limit=${limit}${extra}${before ? `&before=${before}` : ""}`,
    );
    expect(res.status).toBe(200);
    seen.push(...res.body.items);
    before = res.body.nextBefore;
    if (!before) return seen;
  }
  throw new Error("paging never ended");
}

describe("a device's transactions log", () => {
  /**
   * Entries of one device can share a time (a burst received within a millisecond, uplinks and
   * downlinks alike): the generator writes such bursts, and every page size must show each entry
   * exactly once, newest first, as stored.
   */
  it("pages through every entry once, newest first, whatever shares a time", async () => {
    const r = await addRecipient(h, org, org.departments.a1);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            offsetUs: fc.integer({ min: 0, max: 5 }),
            direction: fc.constantFrom("uplink", "downlink"),
            messageId: fc.option(fc.stringMatching(/^[a-z0-9]{1,3}$/), { nil: null }),
            text: fc.string({ maxLength: 30 }).map((t) => t.replaceAll(String.fromCharCode(0), "")),
          }),
          { minLength: 0, maxLength: 25 },
        ),
        fc.integer({ min: 1, max: 7 }),
        async (entries, limit) => {
          run++;
          await h.db.pool.query("DELETE FROM device_messages WHERE device_id = $1", [r.deviceId]);
          const base = Date.parse("2026-12-01T10:00:00Z") * 1000 + run;
          const stored: Entry[] = [];
          for (const [i, e] of entries.entries()) {
            // As the platform writes them: an uplink always has its id; a downlink may have none,
            // and two downlinks of one microsecond are two different messages.
            if (e.direction === "uplink" && e.messageId === null) e.messageId = `u${i}`;
            if (e.direction === "downlink") e.text = `${e.text}#${i}`;
            const inserted = await h.db.pool.query<{ time: Date }>(
              `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload_text)
               VALUES (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2, $3, $4, 't', $5, 'k', $6)
               ON CONFLICT DO NOTHING RETURNING time`,
              [base + e.offsetUs, r.deviceId, org.organisationId, e.direction, e.messageId, e.text],
            );
            const at = inserted.rows[0]?.time;
            if (!at) continue; // The same uplink id at the same time: the log's key refuses it.
            stored.push({
              time: at.toISOString(),
              direction: e.direction as Entry["direction"],
              topic: "t",
              kind: "k",
              messageId: e.messageId,
              payload: e.text,
              contentWithheld: false,
            });
          }
          const seen = await allPages(admin, r.deviceId, limit);
          expect(seen).toHaveLength(stored.length);
          expect([...seen].sort(byAll)).toEqual([...stored].sort(byAll));
          for (let i = 1; i < seen.length; i++)
            expect((seen[i - 1] as Entry).time >= (seen[i] as Entry).time).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("filters by direction and time, logs each reading, and knows no device outside the caller's reach", async () => {
    const r = await addRecipient(h, org, org.departments.a1);
    await h.db.pool.query(
      `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload_text)
       VALUES ('2026-12-01T10:00:00Z', $1, $2, 'uplink', 'up', 'a', 'position', '{"lat":59.9}'),
              ('2026-12-01T11:00:00Z', $1, $2, 'downlink', 'down', 'a', 'ack', '{"ackOf":"a"}'),
              ('2026-12-01T12:00:00Z', $1, $2, 'uplink', 'up', 'b', 'status', '{}')`,
      [r.deviceId, org.organisationId],
    );
    // Rows from before migration 0283 hold jsonb: shown as its text.
    await h.db.pool.query(
      `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload)
       VALUES ('2026-12-01T09:00:00Z', $1, $2, 'uplink', 'up', 'old', 'position', '{"v": 1}')`,
      [r.deviceId, org.organisationId],
    );
    const ups = await admin.get(`/api/v1/device-messages?deviceId=${r.deviceId}&direction=uplink`);
    expect(ups.body.items.map((e: Entry) => e.messageId)).toEqual(["b", "a", "old"]);
    expect(ups.body.items.at(-1).payload).toBe('{"v": 1}');
    const window = await admin.get(
      `/api/v1/device-messages?deviceId=${r.deviceId}&from=2026-12-01T10:30:00Z&to=2026-12-01T12:00:00Z`,
    );
    expect(window.body.items.map((e: Entry) => [e.direction, e.kind])).toEqual([["downlink", "ack"]]);

    const logged = await h.db.pool.query(
      `SELECT recipient_ids, details FROM activity_log
        WHERE organisation_id = $1 AND action = 'device_messages.viewed' AND subject_id = $2 ORDER BY seq`,
      [org.organisationId, r.deviceId],
    );
    expect(logged.rows).toEqual([
      { recipient_ids: [r.recipientId], details: { count: 3, contentShown: 3, direction: "uplink" } },
      { recipient_ids: [r.recipientId], details: { count: 1, contentShown: 1, direction: null } },
    ]);

    // Another organisation's administrator, and one of a department the device is not in.
    const other = await createOrg(h);
    const foreign = await loggedIn(
      h,
      (await addUser(h, other, "admin", [{ role: "org_admin", departmentId: null }])).email,
    );
    const elsewhere = await loggedIn(
      h,
      (await addUser(h, org, "b-admin", [{ role: "dept_admin", departmentId: org.departments.b }])).email,
    );
    for (const c of [foreign, elsewhere]) {
      const res = await c.get(`/api/v1/device-messages?deviceId=${r.deviceId}`);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    // A department admin where the device is manages it, without seeing what it said.
    const here = await loggedIn(
      h,
      (await addUser(h, org, "a-admin", [{ role: "dept_admin", departmentId: org.departments.a }])).email,
    );
    const withheld = await here.get(`/api/v1/device-messages?deviceId=${r.deviceId}`);
    expect(withheld.status).toBe(200);
    expect(withheld.body.items).toHaveLength(4);
    for (const e of withheld.body.items as Entry[])
      expect(e).toMatchObject({ payload: null, contentWithheld: true });

    // Cursors this API never gave: not hex, too short, too long, no tie-breaker.
    for (const bad of [
      "limit=0",
      "before=x",
      "before=1.0",
      "before=1.00",
      `before=1.${"0".repeat(31)}`,
      `before=1.${"0".repeat(33)}`,
      `before=1.${"G".repeat(32)}`,
      "before=1.",
      "direction=sideways",
      "from=yesterday",
    ]) {
      const res = await admin.get(`/api/v1/device-messages?deviceId=${r.deviceId}&${bad}`);
      expect(res.status, bad).toBe(400);
    }
    expect((await admin.get("/api/v1/device-messages")).status).toBe(400);
  });
});

const byAll = (a: Entry, b: Entry) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
