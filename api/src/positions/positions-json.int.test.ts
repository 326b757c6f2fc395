/**
 * GET /positions/current sends JSON that PostgreSQL wrote (positions/service.ts).
 * For generated organisations (recipients with and without fixes, ended,
 * restricted, hostile names, fixes at microseconds, -0, outside the 30 days or
 * in the future) and generated scopes (users' grants, API tokens with and
 * without pseudonyms), the answer equals what the object path sends, writes
 * the same activity-log row, and holds exactly the recipients a model of
 * the rules says the caller may see.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, Client, createHarness, createOrg, type Harness, loggedIn } from "../../test/harness";
import { pseudonym } from "../auth/secrets";
import type { Actor } from "../policy";
import { currentPositions } from "./service";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const DAY_US = 86_400_000_000;
// Names as hostile as text columns allow (PostgreSQL text holds no NUL).
const hostileName = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 12 }),
    fc.constantFrom('"', "\\", "</script>", "\u2028\u2029", "\u0001\u001f", "Ærlig Åse", "{{x}}"),
  )
  .map((s) => s.replaceAll("\0", ""));
// pg sends String(-0), "0": write "-0" so the database holds a negative zero.
const negZero = (v: number) => (Object.is(v, -0) ? "-0" : v);
const fix = fc.record({
  // Microseconds before the clock's now: negative is in the future; beyond 30 days is not current.
  ageUs: fc.oneof(
    fc.bigInt({ min: -60_000_000n, max: 31n * BigInt(DAY_US) }),
    fc.constantFrom(0n, 1n, 999n, 30n * BigInt(DAY_US) - 1n, 30n * BigInt(DAY_US)),
  ),
  // -0 and tiny values: PostgreSQL writes -0 and 1e-07 where JSON.stringify writes 0 and 1e-7.
  lat: fc.oneof(fc.double({ min: -90, max: 90, noNaN: true }), fc.constantFrom(-0, 1e-7, -5e-324)),
  lon: fc.oneof(fc.double({ min: -180, max: 180, noNaN: true }), fc.constantFrom(-0, 1e-7)),
  accuracy: fc.option(fc.oneof(fc.float({ min: 0, max: 1e6, noNaN: true }), fc.constant(-0)), { nil: null }),
  battery: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
  source: fc.constantFrom("gps", "wifi", "cell", "other"),
});
const recipient = fc.record({
  dept: fc.integer({ min: 0, max: 3 }),
  first: hostileName,
  last: hostileName,
  ended: fc.boolean(),
  restricted: fc.boolean(),
  fixes: fc.uniqueArray(fix, { maxLength: 2, selector: (f) => f.ageUs }),
});
const scope = fc.oneof(
  fc.constant(null),
  fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
);

describe("current positions as PostgreSQL-built JSON", () => {
  it("equal the object path's answer and log row, and hold only recipients the caller may see", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recipient, { maxLength: 7 }),
        scope,
        scope,
        async (people, userScope, tokenScope) => {
          const org = await createOrg(h);
          const depts = [org.departments.a, org.departments.a1, org.departments.b, org.departments.b1];
          // Subtrees: a holds a1, b holds b1.
          const below = (i: number) => (i === 0 ? [0, 1] : i === 2 ? [2, 3] : [i]);
          const now = h.clock.now;
          const reach = (s: number[] | null) => new Set(s === null ? [0, 1, 2, 3] : s.flatMap(below));
          const userReach = reach(userScope);
          const tokenReach = reach(tokenScope);
          const byReach = new Map<Set<number>, Set<string>>([
            [userReach, new Set()],
            [tokenReach, new Set()],
          ]);
          for (const [i, p] of people.entries()) {
            const r = await h.db.pool.query<{ id: string }>(
              `INSERT INTO recipients (organisation_id, department_id, first_name, last_name, legal_basis, status, restricted_at)
               VALUES ($1, $2, $3, $4, 'consent', $5, $6) RETURNING id`,
              [
                org.organisationId,
                depts[p.dept],
                p.first,
                p.last,
                p.ended ? "ended" : "active",
                p.restricted ? now : null,
              ],
            );
            const id = r.rows[0]?.id as string;
            const d = await h.db.pool.query<{ id: string }>(
              "INSERT INTO devices (organisation_id, department_id, serial, recipient_id) VALUES ($1, $2, $3, $4) RETURNING id",
              [org.organisationId, depts[p.dept], `J${org.slug}-${i}`, id],
            );
            const deviceId = d.rows[0]?.id as string;
            for (const [k, f] of p.fixes.entries()) {
              await h.db.pool.query(
                `INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m,
                                        source, battery_percent)
                 VALUES ($1::timestamptz - $2::bigint * interval '1 microsecond', $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
                [
                  now,
                  f.ageUs.toString(),
                  deviceId,
                  org.organisationId,
                  id,
                  `j${k}`,
                  negZero(f.lat),
                  negZero(f.lon),
                  f.accuracy === null ? null : negZero(f.accuracy),
                  f.source,
                  f.battery,
                ],
              );
            }
            await h.db.pool.query("SELECT vakt_refresh_latest_positions(ARRAY[$1::uuid])", [deviceId]);
            const newest = (
              await h.db.pool.query<{ current: boolean }>(
                `SELECT time > $2::timestamptz - interval '30 days' AND time <= $2 AS current
                   FROM latest_positions WHERE device_id = $1`,
                [deviceId, now],
              )
            ).rows[0];
            if (!p.ended && !p.restricted && newest?.current)
              for (const [rch, ids] of byReach) if (rch.has(p.dept)) ids.add(id);
          }
          const grants =
            userScope === null
              ? [{ role: "operator" as const, departmentId: null }]
              : userScope.map((i) => ({ role: "operator" as const, departmentId: depts[i] as string }));
          const user = await addUser(h, org, `json-${people.length}`, grants);
          const c = await loggedIn(h, user.email);
          const admin = await loggedIn(
            h,
            (await addUser(h, org, "json-admin", [{ role: "org_admin", departmentId: null }])).email,
          );
          const tokenDepts = tokenScope === null ? null : tokenScope.map((i) => depts[i] as string);

          const compare = async (client: Client, actor: Actor, visible: Set<string>, pseudo: boolean) => {
            const res = await client.get("/api/v1/positions/current");
            expect(res.status).toBe(200);
            expect(res.headers.get("content-type")).toContain("application/json");
            const views = async () =>
              (
                await h.db.pool.query<{ n: number }>(
                  "SELECT count(*)::int AS n FROM activity_log WHERE organisation_id = $1 AND action = 'position.current_viewed'",
                  [org.organisationId],
                )
              ).rows[0]?.n;
            const before = await views();
            const objects = await currentPositions(
              h.deps,
              { actor, organisationId: org.organisationId, ip: "192.0.2.10", now },
              undefined,
            );
            // What c.json sent for the object path, as a client reads it.
            expect(res.body).toEqual(JSON.parse(JSON.stringify(objects)));
            const ids = (res.body.features as { properties: { recipientId: string } }[]).map(
              (f) => f.properties.recipientId,
            );
            const want = [...visible].map((id) =>
              pseudo ? pseudonym(h.deps.config.PSEUDONYM_KEY, org.organisationId, id) : id,
            );
            expect(new Set(ids)).toEqual(new Set(want));
            expect(ids).toHaveLength(want.length);
            // Both rows (the route's, then the object path's) name the same recipients, in the same order.
            const rows = (
              await h.db.pool.query<{ seq: string; recipient_ids: string[]; details: unknown; reason: null }>(
                `SELECT seq::text, recipient_ids, details, reason FROM activity_log
                  WHERE organisation_id = $1 AND action = 'position.current_viewed' ORDER BY seq DESC LIMIT 2`,
                [org.organisationId],
              )
            ).rows;
            expect(await views()).toBe((before ?? 0) + 1);
            expect(rows[1]).toMatchObject({
              recipient_ids: rows[0]?.recipient_ids,
              details: rows[0]?.details,
            });
            expect(new Set(rows[1]?.recipient_ids)).toEqual(visible);
            expect(rows[1]?.details).toEqual({ count: visible.size });
          };

          await compare(
            c,
            {
              kind: "user",
              organisationId: org.organisationId,
              userId: user.id,
              sessionId: "compare",
              grants,
            },
            byReach.get(userReach) as Set<string>,
            false,
          );
          for (const pseudonymous of [false, true]) {
            const t = await admin.post("/api/v1/tokens", {
              name: `json ${pseudonymous}`,
              permissions: ["position:read"],
              departmentIds: tokenDepts,
              pseudonymous,
            });
            expect(t.status).toBe(201);
            const tc = new Client(h);
            tc.bearer = t.body.secret;
            await compare(
              tc,
              {
                kind: "api_token",
                organisationId: org.organisationId,
                tokenId: t.body.id,
                permissions: ["position:read"],
                departmentIds: tokenDepts,
                pseudonymous,
              },
              byReach.get(tokenReach) as Set<string>,
              pseudonymous,
            );
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
