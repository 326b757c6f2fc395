import type { RoleKey } from "@vakt/schemas";
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
} from "../../test/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

interface Shown {
  payloadExcerpt: string | null;
  detail: string | null;
  contentWithheld: boolean;
  deviceId: string;
}

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
      (await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }])).email,
    );
    const first = await admin.get("/api/v1/dead-letters?reason=invalid_message&limit=1");
    expect(first.status).toBe(200);
    expect(first.body.items.map((d: Shown) => d.payloadExcerpt)).toEqual([
      '{"v":1,"id":"b","fix":{"lat":300}}',
    ]);
    expect(first.body.items[0].deviceId).toBe(deviceId);
    const second = await admin.get(
      `/api/v1/dead-letters?reason=invalid_message&limit=1&before=${first.body.nextBefore}`,
    );
    expect(second.body.items.map((d: Shown) => d.payloadExcerpt)).toEqual([
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

  /**
   * A refused message is mostly a position, and its detail can quote one (a conflicting fix names
   * the fix stored; a JSON parser's message quotes the text). A department admin manages devices
   * without seeing where their wearers are: the generator puts a coordinate into the excerpt and the
   * detail in any of the forms devices send (native JSON, OwnTracks, OsmAnd's query string, a geo
   * URI, truncated JSON) for a device in any department, and reads the list as every kind of grant.
   */
  it("shows a refused message's text and detail only to callers who may read positions in the device's department", async () => {
    const org = await createOrg(h);
    const devices = {
      a1: await addRecipient(h, org, org.departments.a1),
      b1: await addRecipient(h, org, org.departments.b1),
    };
    type Place = keyof typeof devices;
    const ids = new Map<string, string>();
    const user = async (name: string, grants: { role: RoleKey; departmentId: string | null }[]) => {
      const u = await addUser(h, org, name, grants);
      ids.set(name, u.id);
      return loggedIn(h, u.email);
    };
    // Who manages the devices of which department, and who may see positions where.
    const callers: { name: string; client: Client; manages: Place[]; reads: Place[] }[] = [
      {
        name: "org admin",
        client: await user("org", [{ role: "org_admin", departmentId: null }]),
        manages: ["a1", "b1"],
        reads: ["a1", "b1"],
      },
      {
        name: "dept admin A",
        client: await user("da", [{ role: "dept_admin", departmentId: org.departments.a }]),
        manages: ["a1"],
        reads: [],
      },
      {
        name: "dept admin A, operator A1",
        client: await user("da-op", [
          { role: "dept_admin", departmentId: org.departments.a },
          { role: "operator", departmentId: org.departments.a1 },
        ]),
        manages: ["a1"],
        reads: ["a1"],
      },
      {
        name: "dept admin of both, operator B",
        client: await user("da2-op", [
          { role: "dept_admin", departmentId: org.departments.a },
          { role: "dept_admin", departmentId: org.departments.b },
          { role: "operator", departmentId: org.departments.b },
        ]),
        manages: ["a1", "b1"],
        reads: ["b1"],
      },
      {
        name: "operator A",
        client: await user("op", [{ role: "operator", departmentId: org.departments.a }]),
        manages: [],
        reads: ["a1"],
      },
    ];

    // Seven decimals, at least 0.5 from the equator and the meridian: digits no other field holds.
    const degrees = (max: number) =>
      fc
        .tuple(fc.integer({ min: 5_000_001, max: max * 10_000_000 }), fc.boolean())
        .map(([n, south]) => `${south ? "-" : ""}${(n / 10_000_000).toFixed(7)}`);
    const coordinate = fc.record({ lat: degrees(89), lon: degrees(179) });
    const forms = [
      (c: { lat: string; lon: string }) =>
        `{"v":1,"id":"m1","fixes":[{"t":1765000000000,"lat":${c.lat},"lon":${c.lon}}]}`,
      (c: { lat: string; lon: string }) =>
        `{"_type":"location","lat":${c.lat},"lon":${c.lon},"tst":1765000000}`,
      (c: { lat: string; lon: string }) => `id=S-1&timestamp=1765000000&lat=${c.lat}&lon=${c.lon}`,
      (c: { lat: string; lon: string }) => `geo:${c.lat},${c.lon};u=8`,
      (c: { lat: string; lon: string }) => `{"v":1,"fix":{"lat":${c.lat},"lon":${c.lon}`,
    ];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        coordinate,
        fc.constantFrom(...forms),
        fc.constantFrom<Place>("a1", "b1"),
        fc.constantFrom("invalid_json", "invalid_message", "conflicting_fix", "timestamp_in_future"),
        fc.string({ maxLength: 20 }),
        async (c, form, place, reason, noise) => {
          run++;
          const topic = `vakt/v1/d/P-${run}/up/position`;
          const excerpt = `${noise}${form(c)}`.replaceAll(String.fromCharCode(0), "");
          const detail = `a different fix is stored for 2026-12-07T01:00:00.000Z (${c.lat}, ${c.lon})`;
          await h.db.pool.query(
            `INSERT INTO dead_letters (transport, topic, organisation_id, device_id, reason, detail, payload_excerpt, payload_bytes)
             VALUES ('mqtt', $1, $2, $3, $4, $5, $6, length($6))`,
            [topic, org.organisationId, devices[place].deviceId, reason, detail, excerpt],
          );
          for (const caller of callers) {
            const res = await caller.client.get(
              `/api/v1/dead-letters?deviceId=${devices[place].deviceId}&limit=1`,
            );
            if (!caller.manages.includes(place)) {
              // Without device:manage there: refused, or a list without it.
              expect(JSON.stringify(res.body), caller.name).not.toContain(topic);
              continue;
            }
            expect(res.status, caller.name).toBe(200);
            const [item] = res.body.items as Shown[];
            expect(item?.deviceId).toBe(devices[place].deviceId);
            const text = JSON.stringify(res.body);
            if (caller.reads.includes(place)) {
              expect(item).toMatchObject({ payloadExcerpt: excerpt, detail, contentWithheld: false });
            } else {
              expect(item, caller.name).toMatchObject({
                payloadExcerpt: null,
                detail: null,
                contentWithheld: true,
              });
              expect(text, caller.name).not.toContain(c.lat);
              expect(text, caller.name).not.toContain(c.lon);
            }
          }
        },
      ),
      { numRuns: 40 },
    );

    // Every reading is logged; the wearer is named where their message was shown, and only there.
    const logged = async (name: string) =>
      (
        await h.db.pool.query<{ recipient_ids: string[]; details: { count: number; contentShown: number } }>(
          `SELECT recipient_ids, details FROM activity_log
            WHERE organisation_id = $1 AND action = 'dead_letters.viewed' AND actor_id = $2`,
          [org.organisationId, ids.get(name)],
        )
      ).rows;
    const withheld = await logged("da");
    expect(withheld.length).toBeGreaterThan(0);
    for (const r of withheld) expect(r).toMatchObject({ recipient_ids: [], details: { contentShown: 0 } });
    const shown = await logged("org");
    expect(shown.length).toBe(run);
    for (const r of shown) {
      expect(r.details).toMatchObject({ count: 1, contentShown: 1 });
      expect(r.recipient_ids).toHaveLength(1);
    }
  });
});
