import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addUser,
  Client,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  PASSWORD,
} from "../../test/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const totp = (secret: string, at: Date) => generate({ secret, epoch: Math.floor(at.getTime() / 1000) });

describe("login and sessions", () => {
  it("sets an httpOnly, SameSite=Strict session cookie and stores only a hash of the token", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const c = new Client(h);
    const res = await c.login(u.email);
    expect(res.body.stage).toBe("active");
    const cookie = res.headers.getSetCookie().find((s) => s.startsWith("vakt_session="));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/); // PUBLIC_URL is http://localhost
    const token = c.cookies.get("vakt_session") as string;
    const { rows } = await h.db.pool.query(
      "SELECT token_sha256, csrf_sha256 FROM sessions WHERE user_id = $1",
      [u.id],
    );
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect((await c.get("/api/v1/auth/me")).body.user.email).toBe(u.email);
    const log = await h.db.pool.query("SELECT action FROM activity_log WHERE organisation_id = $1", [
      org.organisationId,
    ]);
    expect(log.rows.map((r) => r.action)).toContain("login.succeeded");
  });

  it("marks cookies Secure when the public URL is not localhost", async () => {
    const h2 = await createHarness({
      config: { ...h.deps.config, PUBLIC_URL: "https://vakt.example.org" },
    });
    try {
      const org = await createOrg(h2);
      const u = await addUser(h2, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
      const res = await new Client(h2).request("POST", "/api/v1/auth/login", {
        email: u.email,
        password: PASSWORD,
      });
      expect(res.headers.getSetCookie().find((s) => s.startsWith("vakt_session="))).toMatch(/Secure/);
    } finally {
      await h2.close();
    }
  });

  it("answers a wrong password with a problem document and logs the failure", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const res = await new Client(h).post("/api/v1/auth/login", {
      email: u.email,
      password: "wrong password!!",
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body).toMatchObject({ status: 401, title: "Not logged in" });
    expect(res.body.requestId).toBe(res.headers.get("x-request-id"));
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts/);
    const log = await h.db.pool.query(
      "SELECT action, actor_type, subject_id FROM activity_log WHERE organisation_id = $1",
      [org.organisationId],
    );
    expect(log.rows).toContainEqual({ action: "login.failed", actor_type: "anonymous", subject_id: u.id });
  });

  it("ends a session after the idle time, and slides it while in use", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const c = await loggedIn(h, u.email);
    h.clock.advance(20 * 60_000);
    expect((await c.get("/api/v1/auth/me")).status).toBe(200);
    h.clock.advance(20 * 60_000); // 40 min since login, 20 since last use
    expect((await c.get("/api/v1/auth/me")).status).toBe(200);
    h.clock.advance(31 * 60_000);
    expect((await c.get("/api/v1/auth/me")).status).toBe(401);
  });

  it("ends a session at the absolute limit however busy it is", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const c = await loggedIn(h, u.email);
    for (let i = 0; i < 25; i++) {
      h.clock.advance(29 * 60_000);
      const res = await c.get("/api/v1/auth/me");
      expect(res.status).toBe((i + 1) * 29 < 12 * 60 ? 200 : 401);
    }
  });

  it("logs out one session, or every session of the user", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const one = await loggedIn(h, u.email);
    const two = await loggedIn(h, u.email);
    const three = await loggedIn(h, u.email);
    const out = await one.post("/api/v1/auth/logout");
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ providerLogoutUrl: null });
    expect((await one.get("/api/v1/auth/me")).status).toBe(401);
    expect((await two.get("/api/v1/auth/me")).status).toBe(200);
    expect((await two.post("/api/v1/auth/logout-everywhere")).status).toBe(204);
    expect((await two.get("/api/v1/auth/me")).status).toBe(401);
    expect((await three.get("/api/v1/auth/me")).status).toBe(401);
    const { rows } = await h.db.pool.query("SELECT count(*)::int AS n FROM sessions WHERE user_id = $1", [
      u.id,
    ]);
    expect(rows[0].n).toBe(0);
  });
});

describe("brute-force protection", () => {
  it("locks an account after repeated failures, even for the right password, then backs off", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const c = new Client(h);
    for (let i = 0; i < 5; i++) {
      expect(
        (await c.post("/api/v1/auth/login", { email: u.email, password: "not the password" })).status,
      ).toBe(401);
    }
    const locked = await c.post("/api/v1/auth/login", { email: u.email, password: PASSWORD });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBe(30);
    // Another address does not help: the count is per account.
    c.ip = "198.51.100.7";
    expect((await c.post("/api/v1/auth/login", { email: u.email, password: PASSWORD })).status).toBe(429);
    h.clock.advance(31_000);
    expect((await c.post("/api/v1/auth/login", { email: u.email, password: "still wrong!!" })).status).toBe(
      401,
    );
    // The sixth failure doubles the wait.
    const again = await c.post("/api/v1/auth/login", { email: u.email, password: PASSWORD });
    expect(again.status).toBe(429);
    expect(Number(again.headers.get("retry-after"))).toBe(60);
    h.clock.advance(61_000);
    expect((await c.post("/api/v1/auth/login", { email: u.email, password: PASSWORD })).status).toBe(200);
  });

  it("locks an address that tries many accounts, but not other addresses", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const attacker = new Client(h);
    attacker.ip = "203.0.113.66";
    for (let i = 0; i < 20; i++) {
      await attacker.post("/api/v1/auth/login", {
        email: `nobody${i}@example.org`,
        password: "guess guess guess",
      });
    }
    expect((await attacker.post("/api/v1/auth/login", { email: u.email, password: PASSWORD })).status).toBe(
      429,
    );
    const honest = new Client(h);
    honest.ip = "203.0.113.67";
    expect((await honest.post("/api/v1/auth/login", { email: u.email, password: PASSWORD })).status).toBe(
      200,
    );
  });
});

describe("lockout by address behind one NAT", () => {
  it("still lets a right password with a valid second factor in from a locked address, and nothing else", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const plain = await addUser(h, org, "op2", [{ role: "operator", departmentId: org.departments.a }]);
    const enrol = await loggedIn(h, u.email);
    const setup = await enrol.post("/api/v1/auth/totp/setup");
    expect(
      (await enrol.post("/api/v1/auth/totp/enable", { code: await totp(setup.body.secret, h.clock.now) }))
        .status,
    ).toBe(200);
    h.clock.advance(60_000);
    const nat = "203.0.113.90";
    const attacker = new Client(h);
    attacker.ip = nat;
    for (let i = 0; i < 20; i++) {
      await attacker.post("/api/v1/auth/login", {
        email: `n${i}@example.org`,
        password: "guess guess guess",
      });
    }
    const colleague = new Client(h);
    colleague.ip = nat;
    // A wrong password, and a right one without a second factor, are still held back at this address.
    expect(
      (await colleague.post("/api/v1/auth/login", { email: u.email, password: "wrong wrong wrong" })).status,
    ).toBe(429);
    expect(
      (await colleague.post("/api/v1/auth/login", { email: plain.email, password: PASSWORD })).status,
    ).toBe(429);
    const first = await colleague.post("/api/v1/auth/login", { email: u.email, password: PASSWORD });
    expect(first.status).toBe(200);
    expect(first.body.stage).toBe("second_factor_required");
    const done = await colleague.post("/api/v1/auth/second-factor", {
      code: await totp(setup.body.secret, h.clock.now),
    });
    expect(done.status).toBe(200);
    expect((await colleague.get("/api/v1/auth/me")).status).toBe(200);
  });
});

describe("CSRF and headers", () => {
  it("refuses changes made with the session cookie but without the CSRF token", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }]);
    const c = await loggedIn(h, u.email);
    const without = await c.request(
      "PATCH",
      "/api/v1/organisation",
      { name: "Renamed" },
      { "x-csrf-token": "" },
    );
    expect(without.status).toBe(403);
    const wrong = await c.request(
      "PATCH",
      "/api/v1/organisation",
      { name: "Renamed" },
      { "x-csrf-token": "vakt_csrf_nope" },
    );
    expect(wrong.status).toBe(403);
    expect(wrong.body.type).toContain("csrf");
    expect((await c.patch("/api/v1/organisation", { name: "Renamed" })).status).toBe(200);
  });

  it("refuses form posts from another origin", async () => {
    const res = await h.app.request("/api/v1/auth/login", {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      body: "email=a@b.c&password=x",
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("sends security headers and the problem shape for unknown routes and bad bodies", async () => {
    const res = await h.app.request("/api/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    const bad = await new Client(h).post("/api/v1/auth/login", { email: "not-an-email" });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["email", "password"]);
  });
});

describe("second factor", () => {
  it("makes administrators enrol when the organisation requires it, then asks for a code at each login", async () => {
    const org = await createOrg(h, { requireAdminSecondFactor: true });
    const u = await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }]);
    const c = new Client(h);
    expect((await c.login(u.email)).body.stage).toBe("second_factor_enrolment_required");
    const blocked = await c.get("/api/v1/organisation");
    expect(blocked.status).toBe(401);
    expect(blocked.body.type).toContain("second-factor-required");
    const setup = await c.post("/api/v1/auth/totp/setup");
    expect(setup.status).toBe(200);
    expect(setup.body.otpauthUri).toContain("otpauth://totp/");
    expect((await c.post("/api/v1/auth/totp/enable", { code: "000000" })).status).toBe(400);
    const enabled = await c.post("/api/v1/auth/totp/enable", {
      code: await totp(setup.body.secret, h.clock.now),
    });
    expect(enabled.status).toBe(200);
    expect(enabled.body.session.stage).toBe("active");
    expect((await c.get("/api/v1/organisation")).status).toBe(200);

    h.clock.advance(60_000);
    const next = new Client(h);
    expect((await next.login(u.email)).body.stage).toBe("second_factor_required");
    expect((await next.get("/api/v1/organisation")).status).toBe(401);
    expect((await next.post("/api/v1/auth/second-factor", { code: "123456" })).status).toBe(401);
    const code = await totp(setup.body.secret, h.clock.now);
    const ok = await next.post("/api/v1/auth/second-factor", { code });
    expect(ok.status).toBe(200);
    expect((await next.get("/api/v1/organisation")).status).toBe(200);
    // The same code cannot be used twice.
    const replay = new Client(h);
    await replay.login(u.email);
    expect((await replay.post("/api/v1/auth/second-factor", { code })).status).toBe(401);

    // Lost phone: another administrator resets the second factor; the user must enrol again.
    const other = await addUser(h, org, "admin2", [{ role: "org_admin", departmentId: null }]);
    const otherClient = new Client(h);
    await otherClient.login(other.email);
    const otherSetup = await otherClient.post("/api/v1/auth/totp/setup");
    await otherClient.post("/api/v1/auth/totp/enable", {
      code: await totp(otherSetup.body.secret, h.clock.now),
    });
    const reset = await otherClient.patch(`/api/v1/users/${u.id}`, { resetSecondFactor: true });
    expect(reset.body.secondFactorEnabled).toBe(false);
    expect((await next.get("/api/v1/organisation")).status).toBe(401);
    expect((await new Client(h).login(u.email)).body.stage).toBe("second_factor_enrolment_required");
  });

  it("does not ask operators to enrol", async () => {
    const org = await createOrg(h, { requireAdminSecondFactor: true });
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    expect((await new Client(h).login(u.email)).body.stage).toBe("active");
  });
});

describe("invitations and password resets", () => {
  it("invites a user whose single-use token expires", async () => {
    const org = await createOrg(h);
    const admin = await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }]);
    const c = await loggedIn(h, admin.email);
    const created = await c.post("/api/v1/users", {
      email: "New.Person@Example.org",
      firstName: "New",
      lastName: "Person",
      grants: [{ role: "operator", departmentId: org.departments.a }],
    });
    expect(created.status).toBe(201);
    expect(created.body.user.email).toBe("new.person@example.org");
    const token = created.body.invitationToken as string;
    expect(h.mails.at(-1)?.text).toContain(token);
    const { rows } = await h.db.pool.query("SELECT token_sha256 FROM invitations WHERE user_id = $1", [
      created.body.user.id,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0].token_sha256).not.toBe(token);

    const anon = new Client(h);
    expect((await anon.post("/api/v1/auth/invitations/accept", { token, password: "short" })).status).toBe(
      400,
    );
    expect(
      (await anon.post("/api/v1/auth/invitations/accept", { token, password: "a long new password" })).status,
    ).toBe(204);
    expect(
      (await anon.post("/api/v1/auth/invitations/accept", { token, password: "a long new password" })).status,
    ).toBe(410);
    expect(
      (await h.db.pool.query("SELECT 1 FROM invitations WHERE user_id = $1", [created.body.user.id]))
        .rowCount,
    ).toBe(0);
    expect((await anon.login("new.person@example.org", "a long new password")).body.stage).toBe("active");

    const late = await c.post("/api/v1/users", {
      email: `late-${Date.now()}@example.org`,
      firstName: "Late",
      lastName: "Person",
      grants: [{ role: "operator", departmentId: org.departments.a }],
    });
    h.clock.advance(8 * 24 * 3_600_000);
    const expired = await anon.post("/api/v1/auth/invitations/accept", {
      token: late.body.invitationToken,
      password: "a long new password",
    });
    expect(expired.status).toBe(410);
    expect(
      (await h.db.pool.query("SELECT 1 FROM invitations WHERE user_id = $1", [late.body.user.id])).rowCount,
    ).toBe(0);
  });

  it("resets a password by e-mail link, ending the user's sessions", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const session = await loggedIn(h, u.email);
    const anon = new Client(h);
    expect(
      (await anon.post("/api/v1/auth/password-reset", { email: "nobody-here@example.org" })).status,
    ).toBe(202);
    const before = h.mails.length;
    expect((await anon.post("/api/v1/auth/password-reset", { email: u.email })).status).toBe(202);
    expect((await anon.post("/api/v1/auth/password-reset", { email: u.email })).status).toBe(202);
    expect(h.mails).toHaveLength(before + 1); // the second request within a minute sends nothing
    const token = /token=([A-Za-z0-9_-]+)/.exec(h.mails.at(-1)?.text ?? "")?.[1] as string;
    expect(
      (await anon.post("/api/v1/auth/password-reset/confirm", { token, password: "another long password" }))
        .status,
    ).toBe(204);
    expect((await session.get("/api/v1/auth/me")).status).toBe(401);
    expect((await anon.post("/api/v1/auth/login", { email: u.email, password: PASSWORD })).status).toBe(401);
    expect((await anon.login(u.email, "another long password")).status).toBe(200);
    expect(
      (await anon.post("/api/v1/auth/password-reset/confirm", { token, password: "yet another password" }))
        .status,
    ).toBe(410);
  });
});
