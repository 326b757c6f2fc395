/**
 * Single sign-on end to end over HTTP: a real OpenID provider (oidc-provider,
 * in-process on 127.0.0.1) and the API, driven by a small browser model that
 * keeps cookies per host, follows redirects by hand, and leaves SameSite=Strict
 * cookies out of a navigation whose redirect chain crossed sites (as browsers
 * do), while the console's own fetches send them.
 */
import { randomUUID } from "node:crypto";
import { withTransaction } from "@vakt/storage";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  addUser,
  Client,
  createHarness,
  createOrg,
  type Harness,
  PASSWORD,
  TEST_CONFIG,
  type TestOrg,
} from "../../test/harness";
import { createApp } from "../app";
import { eraseStaffUser } from "../privacy/erasure";
import { runRetention } from "../retention/job";
import { startTestIdentityProvider, type TestIdentityProvider } from "../testing";

const API = new URL(TEST_CONFIG.PUBLIC_URL).origin; // http://localhost:3000, served by app.request
const CALLBACK = "/api/v1/auth/sso/callback";
const ID_TOKEN_TTL_S = 60;

let h: Harness;
let idp: TestIdentityProvider;
/** The API's clock runs with real time (the provider's tokens carry real time) plus this offset. */
let offsetMs = 0;
let org: TestOrg;
let admin: Client;

interface Cookie {
  value: string;
  sameSite: string;
}

/** A browser: cookies per host name (not port, as browsers do), redirects followed one by one. */
class Browser {
  jars = new Map<string, Map<string, Cookie>>();
  ip = "192.0.2.50";

  private jar(host: string) {
    let j = this.jars.get(host);
    if (!j) {
      j = new Map();
      this.jars.set(host, j);
    }
    return j;
  }
  cookie(host: string, name: string) {
    return this.jar(host).get(name)?.value;
  }

  private cookieHeader(url: URL, crossSite: boolean): Record<string, string> {
    const pairs = [...this.jar(url.hostname)]
      .filter(([, c]) => !(crossSite && c.sameSite === "strict"))
      .map(([k, c]) => `${k}=${c.value}`);
    return pairs.length ? { cookie: pairs.join("; ") } : {};
  }

  private store(url: URL, headers: Headers) {
    const jar = this.jar(url.hostname);
    for (const sc of headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(";").map((s) => s.trim());
      const eq = (pair ?? "").indexOf("=");
      const name = (pair ?? "").slice(0, eq);
      const value = (pair ?? "").slice(eq + 1);
      const sameSite = (attrs.find((a) => /^samesite=/i.test(a))?.split("=")[1] ?? "lax").toLowerCase();
      const expired =
        attrs.some((a) => /^max-age=(0|-)/i.test(a)) ||
        attrs.some((a) => /^expires=/i.test(a) && new Date(a.slice(8)).getTime() < Date.now());
      if (expired || value === "") jar.delete(name);
      else jar.set(name, { value, sameSite });
    }
  }

  /** One request, to the API (in-process) or to the provider (network). */
  async send(
    url: URL,
    init: { method?: string; headers?: Record<string, string>; body?: string },
    crossSite: boolean,
  ) {
    const headers = { ...this.cookieHeader(url, crossSite), ...init.headers };
    const res =
      url.origin === API
        ? await h.app.request(url.pathname + url.search, {
            method: init.method ?? "GET",
            headers: { ...headers, "x-test-ip": this.ip },
            ...(init.body !== undefined ? { body: init.body } : {}),
          })
        : await fetch(url, { ...init, headers, redirect: "manual" });
    this.store(url, res.headers);
    return res;
  }

  /**
   * A top-level navigation from the console (site localhost): follows
   * redirects and self-submitting forms; stops at a console page (not /api)
   * or at a URL `stopAt` accepts, without loading it.
   */
  async navigate(start: string, stopAt?: (u: URL) => boolean) {
    let url = new URL(start, API);
    let method = "GET";
    let body: string | undefined;
    let headers: Record<string, string> = {};
    const sites = new Set(["localhost"]);
    const hops: URL[] = [];
    for (let i = 0; i < 30; i++) {
      hops.push(url);
      if (stopAt?.(url)) return { url, hops, stopped: true, status: 0, text: "" };
      if (url.origin === API && !url.pathname.startsWith("/api/"))
        return { url, hops, stopped: false, status: 0, text: "" };
      const crossSite = [...sites].some((s) => s !== url.hostname);
      sites.add(url.hostname);
      const res = await this.send(
        url,
        { method, headers, ...(body !== undefined ? { body } : {}) },
        crossSite,
      );
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        url = new URL(location, url);
        method = "GET";
        body = undefined;
        headers = {};
        continue;
      }
      const text = await res.text();
      const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i.exec(text);
      if (res.status === 200 && form && /\.submit\(\)/.test(text)) {
        const fields = new URLSearchParams();
        for (const m of (form[2] ?? "").matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi))
          fields.append(m[1] as string, m[2] as string);
        url = new URL((form[1] as string).replaceAll("&amp;", "&"), url);
        method = "POST";
        body = fields.toString();
        headers = { "content-type": "application/x-www-form-urlencoded" };
        continue;
      }
      return { url, hops, stopped: false, status: res.status, text };
    }
    throw new Error("too many redirects");
  }

  /** A fetch by the console's script (same site: every cookie goes, with the CSRF header). */
  async api(method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = {};
    if (method !== "GET") {
      headers.origin = API;
      headers["x-csrf-token"] = this.cookie("localhost", "vakt_csrf") ?? "";
    }
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await this.send(
      new URL(path, API),
      { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) },
      false,
    );
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
}

const ssoError = (u: URL) =>
  u.origin === API && u.pathname === "/login" ? u.searchParams.get("sso_error") : null;

/** Starts a login through the provider and follows it to the end. */
async function ssoLogin(b: Browser, providerId: string, returnTo = "/") {
  return b.navigate(`/api/v1/auth/sso/${providerId}/start?returnTo=${encodeURIComponent(returnTo)}`);
}
/** Follows a login up to (not into) the callback, and gives the callback URL. */
async function upToCallback(b: Browser, providerId: string) {
  const r = await b.navigate(
    `/api/v1/auth/sso/${providerId}/start?returnTo=%2F`,
    (u) => u.pathname === CALLBACK,
  );
  expect(r.stopped).toBe(true);
  return r.url;
}

async function createProvider(c: Client, body: Record<string, unknown> = {}) {
  const res = await c.post("/api/v1/sso-providers", {
    displayName: `Kommune ${randomUUID().slice(0, 8)}`,
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    emailDomains: ["kommune.test"],
    ...body,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; [k: string]: unknown };
}

const account = (groups: string[] = [], extra: Partial<{ email: string; emailVerified: boolean }> = {}) => {
  const sub = `sub-${randomUUID()}`;
  const a = {
    sub,
    email: extra.email ?? `${sub}@kommune.test`,
    emailVerified: extra.emailVerified ?? true,
    groups,
    givenName: "Kari",
    familyName: "Nordmann",
  };
  idp.setAccount(a);
  idp.loginAs(sub);
  return a;
};

async function log(organisationId: string, action: string) {
  const { rows } = await h.db.pool.query<{
    subject_id: string | null;
    details: Record<string, unknown>;
    actor_type: string;
  }>(
    "SELECT subject_id, details, actor_type FROM activity_log WHERE organisation_id = $1 AND action = $2 ORDER BY seq",
    [organisationId, action],
  );
  return rows;
}
async function grantsOf(userId: string) {
  const { rows } = await h.db.pool.query<{ role: string; department_id: string | null }>(
    "SELECT role, department_id FROM role_grants WHERE user_id = $1 ORDER BY role, department_id",
    [userId],
  );
  return rows.map((r) => ({ role: r.role, departmentId: r.department_id }));
}
async function sessionsOf(userId: string) {
  const { rows } = await h.db.pool.query<{ sso_provider_id: string | null; id_token: string | null }>(
    "SELECT sso_provider_id, id_token FROM sessions WHERE user_id = $1",
    [userId],
  );
  return rows;
}
async function userByEmail(email: string) {
  const { rows } = await h.db.pool.query<{ id: string; organisation_id: string; first_name: string }>(
    "SELECT id, organisation_id, first_name FROM staff_users WHERE email = $1",
    [email],
  );
  return rows[0];
}

beforeAll(async () => {
  h = await createHarness({
    clock: { now: () => new Date(Date.now() + offsetMs) },
    // The identity provider runs on this machine: the site allows loopback explicitly.
    config: { ...TEST_CONFIG, OUTBOUND_ALLOW_NETWORKS: ["127.0.0.1/32"] },
  });
  idp = await startTestIdentityProvider({
    redirectUris: [`${API}${CALLBACK}`],
    postLogoutRedirectUris: [`${API}/login`],
    idTokenTtlSeconds: ID_TOKEN_TTL_S,
  });
  org = await createOrg(h);
  const a = await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }]);
  admin = new Client(h);
  await admin.login(a.email);
});
afterAll(async () => {
  await idp?.close();
  await h?.close();
});
beforeEach(() => {
  offsetMs = 0;
});

describe("single sign-on login", () => {
  it("creates the user on first login with grants from the rules, and lands on returnTo with a working session", async () => {
    const p = await createProvider(admin, {
      createUsers: true,
      mappingRules: [
        { group: "vakt-operators", role: "operator", departmentId: org.departments.a },
        { group: "vakt-audit", role: "auditor", departmentId: org.departments.b1 },
        { group: "unrelated", role: "dept_admin", departmentId: org.departments.b },
      ],
    });
    const acc = account(["vakt-operators", "vakt-audit", "something-else"]);
    const b = new Browser();
    const r = await ssoLogin(b, p.id, "/alarms?view=queue");
    expect(r.url.href).toBe(`${API}/alarms?view=queue`);
    // The flow cookie went with the callback (Lax), and is gone after it.
    expect(b.cookie("localhost", "vakt_sso_flow")).toBeUndefined();
    // The session cookie is Strict: not sent on the landing page after the cross-site chain, but the console's fetches send it.
    expect(b.jars.get("localhost")?.get("vakt_session")?.sameSite).toBe("strict");
    const me = await b.api("GET", "/api/v1/auth/me");
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(acc.email);
    expect(me.body.stage).toBe("active");
    const user = await userByEmail(acc.email);
    expect(user?.organisation_id).toBe(org.organisationId);
    expect(user?.first_name).toBe("Kari");
    expect(await grantsOf(user?.id as string)).toEqual([
      { role: "auditor", departmentId: org.departments.b1 },
      { role: "operator", departmentId: org.departments.a },
    ]);
    const sessions = await sessionsOf(user?.id as string);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.sso_provider_id).toBe(p.id);
    expect(sessions[0]?.id_token).toMatch(/^ey/);
    expect((await log(org.organisationId, "user.created_by_sso")).map((e) => e.subject_id)).toContain(
      user?.id,
    );
    const ok = (await log(org.organisationId, "sso.login_succeeded")).find((e) => e.subject_id === user?.id);
    expect(ok?.details).toMatchObject({ providerId: p.id, userCreated: true });
    expect(JSON.stringify(ok)).not.toContain("ey"); // no token in the log
    const link = await h.db.pool.query("SELECT subject FROM sso_identities WHERE user_id = $1", [user?.id]);
    expect(link.rows).toEqual([{ subject: acc.sub }]);
  });

  it("matches an existing user by verified e-mail, then by subject when the e-mail changes", async () => {
    const p = await createProvider(admin);
    const existing = await addUser(h, org, "existing", [
      { role: "operator", departmentId: org.departments.b },
    ]);
    const acc = account([], { email: existing.email });
    const b = new Browser();
    expect((await ssoLogin(b, p.id)).url.href).toBe(`${API}/`);
    expect((await b.api("GET", "/api/v1/auth/me")).body.user.id).toBe(existing.id);
    // No rules on this provider: grants stay as administrators set them.
    expect(await grantsOf(existing.id)).toEqual([{ role: "operator", departmentId: org.departments.b }]);
    idp.setAccount({ ...acc, email: `renamed-${randomUUID().slice(0, 6)}@kommune.test` });
    const b2 = new Browser();
    await ssoLogin(b2, p.id);
    expect((await b2.api("GET", "/api/v1/auth/me")).body.user.id).toBe(existing.id);
    expect(await sessionsOf(existing.id)).toHaveLength(2);
  });

  it("test provider: in one browser, loginAs switches the account at the next login", async () => {
    const p = await createProvider(admin, { createUsers: true });
    const b = new Browser();
    const first = account();
    await ssoLogin(b, p.id);
    expect((await b.api("GET", "/api/v1/auth/me")).body.user.email).toBe(first.email);
    await ssoLogin(b, p.id); // the provider's session is reused: no interaction
    expect((await b.api("GET", "/api/v1/auth/me")).body.user.email).toBe(first.email);
    const second = account();
    await ssoLogin(b, p.id);
    expect((await b.api("GET", "/api/v1/auth/me")).body.user.email).toBe(second.email);
  });

  it("refuses a wrong state: no session, and the attempt is recorded", async () => {
    const p = await createProvider(admin, { createUsers: true });
    const acc = account();
    const b = new Browser();
    const cb = await upToCallback(b, p.id);
    cb.searchParams.set("state", "forged-state-value");
    const before = await h.db.pool.query(
      "SELECT count(*)::int AS n FROM login_attempts WHERE email = 'sso:unknown-flow'",
    );
    const r = await b.navigate(cb.href);
    expect(ssoError(r.url)).toBe("invalid_request");
    expect(await userByEmail(acc.email)).toBeUndefined();
    expect(b.cookie("localhost", "vakt_session")).toBeUndefined();
    const after = await h.db.pool.query(
      "SELECT count(*)::int AS n FROM login_attempts WHERE email = 'sso:unknown-flow'",
    );
    expect(after.rows[0].n).toBe(before.rows[0].n + 1);
  });

  it("refuses a callback in a browser that did not start the flow (login CSRF)", async () => {
    const p = await createProvider(admin, { createUsers: true });
    const acc = account();
    const cb = await upToCallback(new Browser(), p.id);
    const victim = new Browser();
    const r = await victim.navigate(cb.href);
    expect(ssoError(r.url)).toBe("invalid_request");
    expect(await userByEmail(acc.email)).toBeUndefined();
    const failed = (await log(org.organisationId, "sso.login_failed")).filter(
      (e) => e.details.providerId === p.id,
    );
    expect(failed.map((e) => e.details.detail)).toEqual([
      "callback in a browser that did not start the flow",
    ]);
  });

  it("refuses a replayed callback: one session only", async () => {
    const p = await createProvider(admin, { createUsers: true });
    const acc = account();
    const b = new Browser();
    const cb = await upToCallback(b, p.id);
    const flowCookie = b.jars.get("localhost")?.get("vakt_sso_flow") as Cookie;
    expect((await b.navigate(cb.href)).url.href).toBe(`${API}/`);
    // The same URL again, even with the binding cookie put back.
    b.jars.get("localhost")?.set("vakt_sso_flow", flowCookie);
    const again = await b.navigate(cb.href);
    expect(ssoError(again.url)).toBe("invalid_request");
    const user = await userByEmail(acc.email);
    expect(await sessionsOf(user?.id as string)).toHaveLength(1);
    const failed = (await log(org.organisationId, "sso.login_failed")).filter(
      (e) => e.details.providerId === p.id,
    );
    expect(failed.map((e) => e.details.detail)).toEqual(["flow already used (replayed callback)"]);
  });

  it("refuses an expired ID token", async () => {
    const p = await createProvider(admin, { createUsers: true });
    const acc = account();
    const b = new Browser();
    const cb = await upToCallback(b, p.id);
    offsetMs = (ID_TOKEN_TTL_S + 120) * 1000; // the API's clock is past the token's exp (and its tolerance)
    const r = await b.navigate(cb.href);
    expect(ssoError(r.url)).toBe("expired");
    expect(await userByEmail(acc.email)).toBeUndefined();
    const failed = (await log(org.organisationId, "sso.login_failed")).filter(
      (e) => e.details.providerId === p.id,
    );
    expect(failed[0]?.details).toMatchObject({ reason: "expired" });
    expect(String(failed[0]?.details.detail)).toMatch(/exp/);
  });

  it("refuses an expired login flow", async () => {
    const p = await createProvider(admin, { createUsers: true });
    account();
    const b = new Browser();
    const cb = await upToCallback(b, p.id);
    offsetMs = 11 * 60_000;
    expect(ssoError((await b.navigate(cb.href)).url)).toBe("expired");
  });

  it("refuses an e-mail the provider does not mark verified", async () => {
    const p = await createProvider(admin, { createUsers: true });
    const acc = account([], { emailVerified: false });
    const r = await ssoLogin(new Browser(), p.id);
    expect(ssoError(r.url)).toBe("email_not_verified");
    expect(await userByEmail(acc.email)).toBeUndefined();
  });

  it("re-evaluates groups at each login: a removed group shrinks the grants, no matching group ends access", async () => {
    const p = await createProvider(admin, {
      createUsers: true,
      mappingRules: [
        { group: "ops", role: "operator", departmentId: org.departments.a },
        { group: "audit", role: "auditor", departmentId: org.departments.a },
      ],
    });
    const acc = account(["ops", "audit"]);
    await ssoLogin(new Browser(), p.id);
    const user = await userByEmail(acc.email);
    const id = user?.id as string;
    expect(await grantsOf(id)).toHaveLength(2);

    idp.setAccount({ ...acc, groups: ["ops"] });
    const b = new Browser();
    expect((await ssoLogin(b, p.id)).url.href).toBe(`${API}/`);
    expect(await grantsOf(id)).toEqual([{ role: "operator", departmentId: org.departments.a }]);
    const changed = (await log(org.organisationId, "user.grants_changed_by_sso")).filter(
      (e) => e.subject_id === id,
    );
    expect(changed.at(-1)?.details).toMatchObject({
      added: [],
      removed: [{ role: "auditor", departmentId: org.departments.a }],
    });

    idp.setAccount({ ...acc, groups: [] });
    const sessionsBefore = (await sessionsOf(id)).length;
    const r = await ssoLogin(new Browser(), p.id);
    expect(ssoError(r.url)).toBe("no_access");
    expect(await grantsOf(id)).toEqual([]);
    expect(await sessionsOf(id)).toHaveLength(sessionsBefore);
    // Without grants, the earlier session can do nothing that needs a permission.
    expect((await b.api("GET", "/api/v1/recipients")).status).toBe(403);
  });

  it("logs in whose rules map to a department closed since: no new grant there, the others given", async () => {
    const made = await admin.post("/api/v1/departments", { name: `Closing ${Date.now()}`, parentId: null });
    expect(made.status).toBe(201);
    const p = await createProvider(admin, {
      createUsers: true,
      mappingRules: [
        { group: "ops", role: "operator", departmentId: org.departments.a },
        { group: "ops", role: "operator", departmentId: made.body.id },
      ],
    });
    expect((await admin.post(`/api/v1/departments/${made.body.id}/close`)).status).toBe(200);
    const acc = account(["ops"]);
    expect((await ssoLogin(new Browser(), p.id)).url.href).toBe(`${API}/`);
    const user = await userByEmail(acc.email);
    expect(await grantsOf(user?.id as string)).toEqual([
      { role: "operator", departmentId: org.departments.a },
    ]);
  });

  it("answers provider_error when the provider refuses or cannot be reached, and logs why", async () => {
    const p = await createProvider(admin, { createUsers: true });
    idp.loginAs("nobody-chosen"); // the test provider then answers access_denied
    expect(ssoError((await ssoLogin(new Browser(), p.id)).url)).toBe("provider_error");
    const failed = (await log(org.organisationId, "sso.login_failed")).filter(
      (e) => e.details.providerId === p.id,
    );
    expect(failed.map((e) => e.details.detail)).toEqual(["provider answered access_denied"]);

    const down = await createProvider(admin, { issuer: "http://127.0.0.1:9/" });
    const res = await h.app.request(`/api/v1/auth/sso/${down.id}/start`);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login?sso_error=provider_error");
    const logged = (await log(org.organisationId, "sso.login_failed")).filter(
      (e) => e.details.providerId === down.id,
    );
    expect(String(logged[0]?.details.detail)).toMatch(/^discovery failed/);
  });

  it("refuses an issuer on this machine unless the site allows it: at save time and at discovery", async () => {
    // The same organisation on a site without OUTBOUND_ALLOW_NETWORKS.
    const deps = { ...h.deps, config: TEST_CONFIG };
    const strict = new Client({ ...h, deps, app: createApp(deps) });
    strict.cookies = admin.cookies;
    const saved = await strict.post("/api/v1/sso-providers", {
      displayName: `Inside ${randomUUID().slice(0, 8)}`,
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
    });
    expect(saved.status).toBe(400);
    expect(saved.body.errors).toEqual([
      { path: "issuer", message: expect.stringMatching(/^refused: 127\.0\.0\.1 is a loopback address/) },
    ]);
    // A provider saved while the site allowed loopback: discovery is refused once it no longer does.
    const p = await createProvider(admin);
    const res = await strict.request("GET", `/api/v1/auth/sso/${p.id}/start?returnTo=%2F`);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login?sso_error=provider_error");
    const logged = (await log(org.organisationId, "sso.login_failed")).filter(
      (e) => e.details.providerId === p.id,
    );
    expect(String(logged[0]?.details.detail)).toMatch(
      /^discovery failed: refused: 127\.0\.0\.1 is a loopback address/,
    );
  });

  it("refuses a configured e-mail claim that holds no e-mail address", async () => {
    const p = await createProvider(admin, { createUsers: true, emailClaim: "given_name" });
    const acc = account();
    expect(ssoError((await ssoLogin(new Browser(), p.id)).url)).toBe("no_account");
    expect(await userByEmail(acc.email)).toBeUndefined();
    const failed = (await log(org.organisationId, "sso.login_failed")).filter(
      (e) => e.details.providerId === p.id,
    );
    expect(failed.map((e) => e.details.detail)).toEqual(["the given_name claim is not an e-mail address"]);
  });

  it("refuses an unknown e-mail when the provider does not create users", async () => {
    const p = await createProvider(admin, { createUsers: false });
    const acc = account();
    expect(ssoError((await ssoLogin(new Browser(), p.id)).url)).toBe("no_account");
    expect(await userByEmail(acc.email)).toBeUndefined();
  });

  it("refuses a user of another organisation with the same e-mail", async () => {
    const other = await createOrg(h);
    const stranger = await addUser(h, other, "stranger", [{ role: "org_admin", departmentId: null }]);
    const p = await createProvider(admin, { createUsers: true });
    account([], { email: stranger.email });
    expect(ssoError((await ssoLogin(new Browser(), p.id)).url)).toBe("no_account");
    expect(await sessionsOf(stranger.id)).toHaveLength(0);
    const links = await h.db.pool.query("SELECT 1 FROM sso_identities WHERE user_id = $1", [stranger.id]);
    expect(links.rowCount).toBe(0);
    // Nothing about it lands in the other organisation's log.
    expect(await log(other.organisationId, "sso.login_failed")).toEqual([]);
  });

  it("refuses a disabled user", async () => {
    const p = await createProvider(admin);
    const u = await addUser(h, org, "gone", [{ role: "operator", departmentId: org.departments.a }]);
    await h.db.pool.query("UPDATE staff_users SET status = 'disabled' WHERE id = $1", [u.id]);
    account([], { email: u.email });
    expect(ssoError((await ssoLogin(new Browser(), p.id)).url)).toBe("account_disabled");
    expect(await sessionsOf(u.id)).toHaveLength(0);
  });

  it("rejects a returnTo that leaves the console, and an unknown provider", async () => {
    const p = await createProvider(admin);
    for (const bad of ["//evil.example", "https://evil.example/", "/\\evil.example", "evil"]) {
      const res = await h.app.request(`/api/v1/auth/sso/${p.id}/start?returnTo=${encodeURIComponent(bad)}`);
      expect(res.status, bad).toBe(400);
    }
    expect((await h.app.request(`/api/v1/auth/sso/${randomUUID()}/start`)).status).toBe(404);
    const flows = await h.db.pool.query(
      "SELECT count(*)::int AS n FROM sso_login_flows WHERE provider_id = $1",
      [p.id],
    );
    expect(flows.rows[0].n).toBe(0);
  });

  it("keeps the flow server-side, single-use, with PKCE S256, state and nonce", async () => {
    const p = await createProvider(admin);
    const res = await h.app.request(`/api/v1/auth/sso/${p.id}/start?returnTo=%2Fmap`);
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get("location") as string);
    expect(to.origin).toBe(idp.issuer);
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    expect(to.searchParams.get("redirect_uri")).toBe(`${API}${CALLBACK}`);
    expect(to.searchParams.get("nonce")).toBeTruthy();
    const state = to.searchParams.get("state") as string;
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("vakt_sso_flow=")) as string;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    const { rows } = await h.db.pool.query(
      "SELECT return_to, state_sha256, used_at, expires_at - created_at AS ttl FROM sso_login_flows WHERE provider_id = $1",
      [p.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].return_to).toBe("/map");
    expect(rows[0].state_sha256).not.toBe(state);
    expect(rows[0].used_at).toBeNull();
  });
});

describe("logout", () => {
  it("answers providerLogoutUrl for an SSO session, and following it ends the provider's session", async () => {
    const p = await createProvider(admin, { createUsers: true });
    const acc = account();
    const b = new Browser();
    await ssoLogin(b, p.id);
    const user = await userByEmail(acc.email);
    const meta = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as {
      authorization_endpoint: string;
      end_session_endpoint: string;
    };
    const silent = () => {
      const u = new URL(meta.authorization_endpoint);
      u.search = new URLSearchParams({
        client_id: idp.clientId,
        response_type: "code",
        scope: "openid",
        redirect_uri: `${API}${CALLBACK}`,
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method: "S256",
        state: "probe",
        prompt: "none",
      }).toString();
      return b.navigate(u.href, (x) => x.pathname === CALLBACK);
    };
    // The provider's session is alive: a silent request gets a code.
    expect((await silent()).url.searchParams.get("code")).toBeTruthy();

    const out = await b.api("POST", "/api/v1/auth/logout");
    expect(out.status).toBe(200);
    const url = new URL(out.body.providerLogoutUrl);
    expect(`${url.origin}${url.pathname}`).toBe(meta.end_session_endpoint);
    expect(url.searchParams.get("id_token_hint")).toMatch(/^ey/);
    expect(url.searchParams.get("client_id")).toBe(idp.clientId);
    expect(url.searchParams.get("post_logout_redirect_uri")).toBe(`${API}/login`);
    expect(await sessionsOf(user?.id as string)).toEqual([]);
    expect((await b.api("GET", "/api/v1/auth/me")).status).toBe(401);

    const done = await b.navigate(url.href);
    expect(done.url.href).toBe(`${API}/login`);
    expect((await silent()).url.searchParams.get("error")).toBe("login_required");
  });

  it("answers providerLogoutUrl null for a password session", async () => {
    const u = await addUser(h, org, "pw", [{ role: "operator", departmentId: org.departments.a }]);
    const c = new Client(h);
    await c.login(u.email);
    const out = await c.post("/api/v1/auth/logout");
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ providerLogoutUrl: null });
  });
});

describe("provider configuration", () => {
  it("never returns the secret, validates rules, and logs every mapping change", async () => {
    const secret = `s3cret-${randomUUID()}`;
    const created = await createProvider(admin, { clientSecret: secret });
    expect(created.hasClientSecret).toBe(true);
    expect(created.redirectUri).toBe(`${API}${CALLBACK}`);
    expect(JSON.stringify(created)).not.toContain(secret);
    const list = await admin.get("/api/v1/sso-providers");
    expect(list.status).toBe(200);
    expect(list.body.map((x: { id: string }) => x.id)).toContain(created.id);
    expect(JSON.stringify(list.body)).not.toContain(secret);

    const rules = [{ group: "g1", role: "operator", departmentId: org.departments.a1 }];
    const patched = await admin.patch(`/api/v1/sso-providers/${created.id}`, { mappingRules: rules });
    expect(patched.status).toBe(200);
    expect(patched.body.mappingRules).toEqual(rules);
    const newSecret = `n3w-${randomUUID()}`;
    expect(
      (await admin.patch(`/api/v1/sso-providers/${created.id}`, { clientSecret: newSecret })).status,
    ).toBe(200);
    const stored = await h.db.pool.query("SELECT client_secret FROM sso_providers WHERE id = $1", [
      created.id,
    ]);
    expect(stored.rows[0].client_secret).toBe(newSecret);

    const updates = (await log(org.organisationId, "sso_provider.updated")).filter(
      (e) => e.subject_id === created.id,
    );
    expect(updates[0]?.details).toEqual({ changes: { mappingRules: { before: [], after: rules } } });
    expect(updates[1]?.details).toEqual({ changes: {}, clientSecretReplaced: true });
    const all = await h.db.pool.query(
      "SELECT details::text AS d FROM activity_log WHERE organisation_id = $1",
      [org.organisationId],
    );
    expect(all.rows.map((r) => r.d).join("\n")).not.toMatch(new RegExp(`${secret}|${newSecret}`));

    // A department of another organisation, or org_admin on a department: 400, nothing changed.
    const other = await createOrg(h);
    for (const bad of [
      [{ group: "x", role: "operator", departmentId: other.departments.a }],
      [{ group: "x", role: "org_admin", departmentId: org.departments.a }],
    ]) {
      const res = await admin.patch(`/api/v1/sso-providers/${created.id}`, { mappingRules: bad });
      expect(res.status).toBe(400);
    }
    expect(
      (await admin.get("/api/v1/sso-providers")).body.find((x: { id: string }) => x.id === created.id)
        .mappingRules,
    ).toEqual(rules);
    expect(
      (
        await admin.post("/api/v1/sso-providers", {
          displayName: "x",
          issuer: "http://evil.example",
          clientId: "a",
          clientSecret: "b",
        })
      ).status,
    ).toBe(400);
    // Display names are unique in the organisation.
    const dup = await admin.post("/api/v1/sso-providers", {
      displayName: created.displayName,
      issuer: idp.issuer,
      clientId: "a",
      clientSecret: "b",
    });
    expect(dup.status).toBe(409);

    expect((await admin.delete(`/api/v1/sso-providers/${created.id}`)).status).toBe(204);
    expect((await log(org.organisationId, "sso_provider.deleted")).map((e) => e.subject_id)).toContain(
      created.id,
    );
    expect((await admin.patch(`/api/v1/sso-providers/${created.id}`, { enabled: false })).status).toBe(404);
  });

  it("offers enabled providers by e-mail domain on the login page, saying nothing of accounts", async () => {
    const on = await createProvider(admin, { emailDomains: ["helse.test"] });
    const off = await createProvider(admin, { emailDomains: ["helse.test"], enabled: false });
    const res = await h.app.request("/api/v1/auth/sso/providers?email=nobody@HELSE.test");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { providers: { id: string; displayName: string }[] };
    expect(body.providers).toEqual([{ id: on.id, displayName: on.displayName }]);
    expect(body.providers.map((x) => x.id)).not.toContain(off.id);
    const none = (await (await h.app.request("/api/v1/auth/sso/providers?email=a@example.org")).json()) as {
      providers: unknown[];
    };
    expect(none.providers).toEqual([]);
    expect((await h.app.request("/api/v1/auth/sso/providers?email=not-an-address")).status).toBe(400);
  });

  it("ends the sessions opened through a provider when it is removed", async () => {
    const p = await createProvider(admin, { createUsers: true });
    const acc = account();
    const b = new Browser();
    await ssoLogin(b, p.id);
    expect((await b.api("GET", "/api/v1/auth/me")).status).toBe(200);
    expect((await admin.delete(`/api/v1/sso-providers/${p.id}`)).status).toBe(204);
    expect((await b.api("GET", "/api/v1/auth/me")).status).toBe(401);
    const user = await userByEmail(acc.email);
    expect(await sessionsOf(user?.id as string)).toEqual([]);
  });
});

describe("local passwords off", () => {
  it("refuses staff passwords with sso_required, lets an organisation administrator in (break-glass, logged)", async () => {
    const o = await createOrg(h);
    const a = await addUser(h, o, "boss", [{ role: "org_admin", departmentId: null }]);
    const op = await addUser(h, o, "op", [{ role: "operator", departmentId: o.departments.a }]);
    const boss = new Client(h);
    await boss.login(a.email);
    expect((await boss.get("/api/v1/organisation/login-settings")).body).toEqual({
      localPasswordLogin: true,
    });
    const put = await boss.put("/api/v1/organisation/login-settings", { localPasswordLogin: false });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ localPasswordLogin: false });
    expect((await log(o.organisationId, "login_settings.updated"))[0]?.details).toEqual({
      changes: { localPasswordLogin: { before: true, after: false } },
    });

    // A wrong password says nothing about the setting.
    const wrong = await new Client(h).post("/api/v1/auth/login", {
      email: op.email,
      password: "wrong password!",
    });
    expect(wrong.status).toBe(401);
    const refused = await new Client(h).post("/api/v1/auth/login", { email: op.email, password: PASSWORD });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ title: "Log in with single sign-on", status: 403 });
    expect(refused.body.type).toContain("sso-required");
    expect(await sessionsOf(op.id)).toEqual([]);

    const glass = await new Client(h).post("/api/v1/auth/login", { email: a.email, password: PASSWORD });
    expect(glass.status).toBe(200);
    const entries = await log(o.organisationId, "login.break_glass");
    expect(entries).toHaveLength(1);
    expect(entries[0]?.subject_id).toBe(a.id);
    expect(entries[0]?.actor_type).toBe("user");

    // Operators cannot read or change the setting.
    const opClient = new Client(h);
    await h.db.pool.query("UPDATE organisations SET local_password_login = true WHERE id = $1", [
      o.organisationId,
    ]);
    await opClient.login(op.email);
    expect((await opClient.get("/api/v1/organisation/login-settings")).status).toBe(403);
    expect(
      (await opClient.put("/api/v1/organisation/login-settings", { localPasswordLogin: true })).status,
    ).toBe(403);
  });
});

describe("privacy and housekeeping", () => {
  it("prunes expired login flows, and erasing a staff user removes their SSO links", async () => {
    const p = await createProvider(admin, { createUsers: true });
    const acc = account();
    await ssoLogin(new Browser(), p.id);
    await h.app.request(`/api/v1/auth/sso/${p.id}/start`); // a flow never finished
    const flows = async () =>
      (await h.db.pool.query("SELECT count(*)::int AS n FROM sso_login_flows WHERE provider_id = $1", [p.id]))
        .rows[0].n as number;
    expect(await flows()).toBe(2);
    const run = await runRetention(h.db.pool, { now: new Date(Date.now() + 60 * 60_000), trigger: "manual" });
    expect(run.status).toBe("succeeded");
    expect(await flows()).toBe(0);

    const user = await userByEmail(acc.email);
    const id = user?.id as string;
    const erased = await withTransaction(h.db.pool, (tx) =>
      eraseStaffUser(tx, org.organisationId, id, {
        actor: undefined,
        ip: null,
        now: new Date(),
        trigger: "retention",
        reason: "test",
      }),
    );
    expect(erased.counts).toMatchObject({ ssoLinks: 1, sessions: 1 });
    const left = await h.db.pool.query("SELECT 1 FROM sso_identities WHERE subject = $1", [acc.sub]);
    expect(left.rowCount).toBe(0);
  });
});
