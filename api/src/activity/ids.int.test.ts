/**
 * appendActivityRow sends ids already in PostgreSQL's uuid form without the
 * database rendering them first (writer.ts). Whatever case and mix of ids
 * come in, the stored row holds them as the database writes them, and the
 * chain verifies: the MAC was made over what was stored.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, createOrg, type Harness } from "../../test/harness";
import { verifyActivityLog } from "./reader";
import { appendActivityRow } from "./writer";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

// Upper case or braces make an id that PostgreSQL accepts but writes differently.
const id = fc
  .tuple(fc.uuid(), fc.constantFrom("lower", "upper", "mixed", "braces"))
  .map(([u, form]) =>
    form === "upper"
      ? u.toUpperCase()
      : form === "mixed"
        ? u.replace(/[a-f]/, (c) => c.toUpperCase())
        : form === "braces"
          ? `{${u}}`
          : u,
  );

describe("activity-log recipient ids", () => {
  it("are stored as PostgreSQL writes them, and the chain verifies, however they came in", async () => {
    const org = await createOrg(h);
    let rows = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(id, { maxLength: 20 }), async (ids) => {
        await appendActivityRow(h.db.pool, {
          organisationId: org.organisationId,
          at: h.clock.now,
          actorType: "system",
          action: "test.ids",
          recipientIds: ids,
        });
        rows++;
        const stored = (
          await h.db.pool.query<{ recipient_ids: string[] }>(
            "SELECT recipient_ids::text[] AS recipient_ids FROM activity_log WHERE organisation_id = $1 ORDER BY seq DESC LIMIT 1",
            [org.organisationId],
          )
        ).rows[0];
        expect(stored?.recipient_ids).toEqual(ids.map((i) => i.replace(/[{}]/g, "").toLowerCase()));
      }),
      { numRuns: 40 },
    );
    const r = await verifyActivityLog(h.db.pool, org.organisationId, h.activityLog, h.clock.now);
    expect(r.findings).toEqual([]);
    expect(r).toMatchObject({ ok: true, rows });
  });
});
