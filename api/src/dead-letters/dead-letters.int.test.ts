import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addRecipient, addUser, createHarness, createOrg, type Harness, loggedIn } from "../../test/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe("dead letters", () => {
  it("shows an administrator the refused messages of their devices, filtered and paged, and logs the reading", async () => {
    const org = await createOrg(h);
    const { deviceId, recipientId } = await addRecipient(h, org, org.departments.a1);
    const insert = (reason: string, excerpt: string) =>
      h.db.pool.query(
        `INSERT INTO dead_letters (transport, topic, organisation_id, device_id, reason, payload_excerpt, payload_bytes)
         VALUES ('mqtt', 'vakt/v1/d/X/up/position', $1, $2, $3, $4, length($4))`,
        [org.organisationId, deviceId, reason, excerpt],
      );
    await insert("invalid_json", "{not json");
    await insert("invalid_message", '{"v":1,"id":"a","fix":{"lat":200}}');
    await insert("invalid_message", '{"v":1,"id":"b","fix":{"lat":300}}');
    // Another organisation's dead letter never shows.
    const other = await createOrg(h);
    const foreign = await addRecipient(h, other, other.departments.a1);
    await h.db.pool.query(
      `INSERT INTO dead_letters (transport, topic, organisation_id, device_id, reason, payload_excerpt, payload_bytes)
       VALUES ('mqtt', 't', $1, $2, 'invalid_message', 'foreign', 7)`,
      [other.organisationId, foreign.deviceId],
    );

    const admin = await loggedIn(
      h,
      (await addUser(h, org, "admin", [{ role: "dept_admin", departmentId: org.departments.a }])).email,
    );
    const first = await admin.get("/api/v1/dead-letters?reason=invalid_message&limit=1");
    expect(first.status).toBe(200);
    expect(first.body.items.map((d: { payloadExcerpt: string }) => d.payloadExcerpt)).toEqual([
      '{"v":1,"id":"b","fix":{"lat":300}}',
    ]);
    expect(first.body.items[0].deviceId).toBe(deviceId);
    const second = await admin.get(
      `/api/v1/dead-letters?reason=invalid_message&limit=1&before=${first.body.nextBefore}`,
    );
    expect(second.body.items.map((d: { payloadExcerpt: string }) => d.payloadExcerpt)).toEqual([
      '{"v":1,"id":"a","fix":{"lat":200}}',
    ]);
    const all = await admin.get("/api/v1/dead-letters");
    expect(all.body.items).toHaveLength(3);
    expect(all.body.nextBefore).toBeNull();

    const logged = await h.db.pool.query(
      "SELECT recipient_ids, details FROM activity_log WHERE organisation_id = $1 AND action = 'dead_letters.viewed' ORDER BY seq",
      [org.organisationId],
    );
    expect(logged.rows).toHaveLength(3);
    expect(logged.rows[0]?.recipient_ids).toEqual([recipientId]);

    const bad = await admin.get("/api/v1/dead-letters?limit=100000");
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
  });
});
