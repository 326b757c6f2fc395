/**
 * Position views are logged by group commit (batch.ts): for any
 * number of concurrent views from generated callers, of one organisation or
 * several, every answer that was sent has its row, there is one row per
 * answer, the chain verifies, and a row the database refuses fails only the
 * request that made it.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addPositions,
  addRecipient,
  addUser,
  type Client,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  type TestOrg,
} from "../../test/harness";
import { appendReadActivity } from "./batch";
import { verifyActivityLog } from "./reader";

let h: Harness;
let orgs: { org: TestOrg; operators: Client[]; recipients: number }[];

beforeAll(async () => {
  h = await createHarness();
  orgs = [];
  for (let o = 0; o < 2; o++) {
    const org = await createOrg(h);
    const operators: Client[] = [];
    for (let i = 0; i < 3; i++) {
      const u = await addUser(h, org, `op${i}`, [{ role: "operator", departmentId: org.departments.a }]);
      operators.push(await loggedIn(h, u.email));
    }
    const count = 3 + o;
    for (let i = 0; i < count; i++) {
      const r = await addRecipient(h, org, org.departments.a1, `P${i}`);
      await addPositions(h, org, r, h.clock.now, 1, 10);
    }
    orgs.push({ org, operators, recipients: count });
  }
});
afterAll(async () => {
  await h.close();
});

const viewsOf = async (organisationId: string) =>
  Number(
    (
      await h.db.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM activity_log WHERE organisation_id = $1 AND action = 'position.current_viewed'",
        [organisationId],
      )
    ).rows[0]?.n,
  );

describe("position views logged by group commit", () => {
  it("logs exactly one row per answer sent, under concurrency, and the chains verify", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ org: fc.nat({ max: 1 }), op: fc.nat({ max: 2 }), json: fc.boolean() }), {
          minLength: 1,
          maxLength: 40,
        }),
        async (requests) => {
          const before = await Promise.all(orgs.map((o) => viewsOf(o.org.organisationId)));
          const answers = await Promise.all(
            requests.map(async (r) => {
              const o = orgs[r.org];
              if (!o) throw new Error("no org");
              const client = o.operators[r.op];
              if (!client) throw new Error("no operator");
              const res = await client.get(`/api/v1/positions/current${r.json ? "" : "?reason=vakt"}`);
              return { org: r.org, status: res.status, features: res.body?.features?.length };
            }),
          );
          for (const a of answers) {
            expect(a.status).toBe(200);
            expect(a.features).toBe(orgs[a.org]?.recipients);
          }
          for (const [i, o] of orgs.entries()) {
            const sent = answers.filter((a) => a.org === i).length;
            expect(await viewsOf(o.org.organisationId)).toBe((before[i] ?? 0) + sent);
          }
        },
      ),
      { numRuns: 12 },
    );
    for (const o of orgs) {
      const r = await verifyActivityLog(h.db.pool, o.org.organisationId, h.activityLog, h.clock.now);
      expect(r.findings).toEqual([]);
      expect(r.ok).toBe(true);
    }
  });

  it("fails only the row the database refuses, never the ones written beside it", async () => {
    const o = orgs[0];
    if (!o) throw new Error("no org");
    const row = (reason: string) => ({
      organisationId: o.org.organisationId,
      at: h.clock.now,
      actorType: "system" as const,
      action: "position.current_viewed",
      recipientIds: [],
      reason,
      details: {},
    });
    const before = await viewsOf(o.org.organisationId);
    // PostgreSQL text holds no NUL: this row cannot be stored, the others can.
    const results = await Promise.allSettled(
      ["first", "bad\u0000reason", "third", "fourth"].map((r) => appendReadActivity(h.db.pool, row(r))),
    );
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect(await viewsOf(o.org.organisationId)).toBe(before + 3);
    const v = await verifyActivityLog(h.db.pool, o.org.organisationId, h.activityLog, h.clock.now);
    expect(v.findings).toEqual([]);
  });
});
