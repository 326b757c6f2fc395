/**
 * The public endpoints are bounded per client address, and the count lives in
 * PostgreSQL: two API processes (two apps on one database) share it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness, TEST_CONFIG } from "../../test/harness";
import { createApp } from "../app";

const LIMIT = 5;
let nextHost = 1;

describe("public endpoint rate limit", () => {
  let h: Harness;
  let first: ReturnType<typeof createApp>;
  let second: ReturnType<typeof createApp>;

  beforeAll(async () => {
    h = await createHarness();
    const deps = { ...h.deps, config: { ...TEST_CONFIG, PUBLIC_RATE_LIMIT_PER_MINUTE: LIMIT } };
    first = createApp(deps);
    second = createApp(deps);
  });
  afterAll(() => h?.close());

  const resetRequest = (app: ReturnType<typeof createApp>, ip: string) =>
    app.request("/api/v1/auth/password-reset", {
      method: "POST",
      headers: { "content-type": "application/json", origin: TEST_CONFIG.PUBLIC_URL, "x-test-ip": ip },
      body: JSON.stringify({ email: "nobody@example.org" }),
    });

  it("answers 429 with Retry-After once an address has used its requests, across processes, and not for other addresses", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++)
      statuses.push((await resetRequest(i % 2 ? second : first, "198.51.100.7")).status);
    expect(statuses).toEqual(Array(LIMIT).fill(202));

    for (const app of [first, second]) {
      const limited = await resetRequest(app, "198.51.100.7");
      expect(limited.status).toBe(429);
      expect(limited.headers.get("content-type")).toContain("application/problem+json");
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
      expect(await limited.json()).toMatchObject({ status: 429, title: "Too many attempts" });
    }

    // Single sign-on discovery shares the address's budget; another address has its own.
    const sso = await first.request("/api/v1/auth/sso/providers?email=a%40kommune.no", {
      headers: { "x-test-ip": "198.51.100.7" },
    });
    expect(sso.status).toBe(429);
    expect((await resetRequest(second, "198.51.100.8")).status).toBe(202);

    const { rows } = await h.db.pool.query<{ points: number }>(
      "SELECT points FROM rate_limits WHERE key = 'public:198.51.100.7'",
    );
    expect(rows[0]?.points).toBeGreaterThan(LIMIT);
  });

  it.each([
    ["POST", "/api/v1/auth/login", { email: "nobody@example.org", password: "x" }],
    ["POST", "/api/v1/auth/password-reset/confirm", { token: "t".repeat(30), password: "p".repeat(12) }],
    ["POST", "/api/v1/auth/invitations/accept", { token: "t".repeat(30), password: "p".repeat(12) }],
    ["GET", "/api/v1/auth/sso/00000000-0000-4000-8000-000000000000/start", undefined],
    ["GET", "/api/v1/auth/sso/callback?state=x&code=y", undefined],
  ] as const)("counts %s %s once per request", async (method, path, body) => {
    const ip = `203.0.113.${nextHost++}`;
    await first.request(path, {
      method,
      headers: { "content-type": "application/json", origin: TEST_CONFIG.PUBLIC_URL, "x-test-ip": ip },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const { rows } = await h.db.pool.query<{ points: number }>(
      "SELECT points FROM rate_limits WHERE key = $1",
      [`public:${ip}`],
    );
    expect(rows[0]?.points).toBe(1);
  });

  it("leaves endpoints behind a login alone", async () => {
    for (let i = 0; i < LIMIT + 2; i++) {
      const res = await first.request("/api/v1/auth/me", { headers: { "x-test-ip": "198.51.100.9" } });
      expect(res.status).toBe(401);
    }
  });
});
