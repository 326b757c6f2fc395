/**
 * A person's own security: the sessions they have open, ending the others, and turning their own
 * authenticator app off (with a current code, and never where the organisation requires one).
 */
import fc from "fast-check";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, Client, createHarness, createOrg, type Harness, loggedIn } from "../../test/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const totp = (secret: string, at: Date) => generate({ secret, epoch: Math.floor(at.getTime() / 1000) });

/** A logged-in client of a user with an authenticator app enrolled, and the app's secret. */
async function enrolled(email: string) {
  const c = await loggedIn(h, email);
  const setup = await c.post("/api/v1/auth/totp/setup");
  expect(setup.status).toBe(200);
  const on = await c.post("/api/v1/auth/totp/enable", { code: await totp(setup.body.secret, h.clock.now) });
  expect(on.status).toBe(200);
  return { c, secret: setup.body.secret as string };
}

async function withCode(email: string, secret: string) {
  const c = new Client(h);
  expect((await c.login(email)).body.stage).toBe("second_factor_required");
  expect((await c.post("/api/v1/auth/second-factor", { code: await totp(secret, h.clock.now) })).status).toBe(
    200,
  );
  return c;
}

const totpState = async (userId: string) =>
  (
    await h.db.pool.query<{ on: boolean; secret: boolean }>(
      "SELECT totp_enabled_at IS NOT NULL AS on, totp_secret IS NOT NULL AS secret FROM staff_users WHERE id = $1",
      [userId],
    )
  ).rows[0];

describe("own sessions", () => {
  it("lists only the caller's live sessions, marks this one, and never shows a token", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const other = await addUser(h, org, "op2", [{ role: "operator", departmentId: org.departments.a }]);
    const one = await loggedIn(h, u.email);
    const two = await loggedIn(h, u.email);
    await loggedIn(h, other.email);
    const list = await two.get("/api/v1/auth/sessions");
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(2);
    expect(list.body.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    const text = JSON.stringify(list.body);
    for (const c of [one, two])
      for (const name of ["vakt_session", "vakt_csrf"]) expect(text).not.toContain(c.cookies.get(name));
    expect(list.body[0]).toMatchObject({ ip: "192.0.2.10", singleSignOn: false, stage: "active" });
    // An expired session is not "where I am logged in".
    await h.db.pool.query("UPDATE sessions SET idle_expires_at = $2 WHERE user_id = $1 AND id <> $3", [
      u.id,
      new Date(h.clock.now.getTime() - 1000),
      list.body.find((s: { current: boolean }) => s.current).id,
    ]);
    expect((await two.get("/api/v1/auth/sessions")).body).toHaveLength(1);
  });

  it("ends the other sessions and keeps this one, logged with the count", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const others = [await loggedIn(h, u.email), await loggedIn(h, u.email)];
    const me = await loggedIn(h, u.email);
    const out = await me.post("/api/v1/auth/logout-others");
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ sessionsEnded: 2 });
    for (const c of others) expect((await c.get("/api/v1/auth/me")).status).toBe(401);
    expect((await me.get("/api/v1/auth/me")).status).toBe(200);
    expect((await me.post("/api/v1/auth/logout-others")).body).toEqual({ sessionsEnded: 0 });
    const log = await h.db.pool.query(
      "SELECT details FROM activity_log WHERE organisation_id = $1 AND action = 'logout.others' ORDER BY seq",
      [org.organisationId],
    );
    expect(log.rows.map((r) => r.details.sessionsEnded)).toEqual([2, 0]);
  });

  it("refuses sessions still waiting for a second factor (API tokens: permissions.int.test.ts)", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const { secret } = await enrolled(u.email);
    h.clock.advance(60_000);
    const waiting = new Client(h);
    await waiting.login(u.email);
    expect((await waiting.get("/api/v1/auth/sessions")).status).toBe(401);
    expect((await waiting.post("/api/v1/auth/logout-others")).status).toBe(401);
    expect(
      (await waiting.post("/api/v1/auth/totp/disable", { code: await totp(secret, h.clock.now) })).status,
    ).toBe(401);
    expect((await totpState(u.id))?.on).toBe(true);
  });
});

describe("turning one's own authenticator app off", () => {
  it("needs a right, unused code; then ends the other sessions and logs it", async () => {
    const org = await createOrg(h, { requireAdminSecondFactor: false });
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const { c, secret } = await enrolled(u.email);
    h.clock.advance(60_000);
    const elsewhere = await withCode(u.email, secret);
    // The code just used to log in elsewhere cannot be used again.
    const used = await totp(secret, h.clock.now);
    expect((await c.post("/api/v1/auth/totp/disable", { code: used })).status).toBe(400);
    h.clock.advance(30_000);
    const off = await c.post("/api/v1/auth/totp/disable", { code: await totp(secret, h.clock.now) });
    expect(off.status).toBe(200);
    expect(off.body).toEqual({ enabled: false });
    expect(await totpState(u.id)).toEqual({ on: false, secret: false });
    expect((await elsewhere.get("/api/v1/auth/me")).status).toBe(401);
    expect((await c.get("/api/v1/auth/me")).body.user.secondFactorEnabled).toBe(false);
    expect((await new Client(h).login(u.email)).body.stage).toBe("active");
    expect((await c.post("/api/v1/auth/totp/disable", { code: "123456" })).status).toBe(409);
    const log = await h.db.pool.query(
      "SELECT count(*)::int AS n FROM activity_log WHERE organisation_id = $1 AND action = 'second_factor.disabled'",
      [org.organisationId],
    );
    expect(log.rows[0].n).toBe(1);
  });

  it("refuses an administrator whose organisation requires a second factor, but not an operator", async () => {
    const org = await createOrg(h, { requireAdminSecondFactor: true });
    const admin = await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }]);
    const a = new Client(h);
    await a.login(admin.email);
    const setup = await a.post("/api/v1/auth/totp/setup");
    await a.post("/api/v1/auth/totp/enable", { code: await totp(setup.body.secret, h.clock.now) });
    h.clock.advance(30_000);
    const refused = await a.post("/api/v1/auth/totp/disable", {
      code: await totp(setup.body.secret, h.clock.now),
    });
    expect(refused.status).toBe(409);
    expect((await totpState(admin.id))?.on).toBe(true);

    const op = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const { c, secret } = await enrolled(op.email);
    h.clock.advance(30_000);
    expect(
      (await c.post("/api/v1/auth/totp/disable", { code: await totp(secret, h.clock.now) })).status,
    ).toBe(200);
  });

  it("changes nothing for any body that is not a right code, and counts wrong codes towards lockout", async () => {
    const org = await createOrg(h, { requireAdminSecondFactor: false });
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const { c, secret } = await enrolled(u.email);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.stringMatching(/^[0-9]{1,5}$/),
          fc.stringMatching(/^[0-9]{7,9}$/),
          fc.integer(),
          fc.constant(null),
        ),
        async (code) => {
          const r = await c.post("/api/v1/auth/totp/disable", { code });
          expect(r.status).toBe(400);
        },
      ),
      { numRuns: 40 },
    );
    expect((await totpState(u.id))?.on).toBe(true);
    // Wrong six-digit codes are counted like wrong login codes: the account locks. (Failures at the
    // instant of the last success do not count; the test clock stands still unless moved.)
    h.clock.advance(1000);
    const right = await totp(secret, h.clock.now);
    const wrong = right === "000000" ? "000001" : "000000";
    let locked = false;
    for (let i = 0; i < 8 && !locked; i++)
      locked = (await c.post("/api/v1/auth/totp/disable", { code: wrong })).status === 429;
    expect(locked).toBe(true);
    expect((await totpState(u.id))?.on).toBe(true);
  });
});
