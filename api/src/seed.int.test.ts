import { verifyDeviceSecret } from "@vakt/storage";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, createHarness, type Harness, TEST_HASHING } from "../test/harness";
import { seedDemo } from "./seed";
import { startApiServer } from "./server";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe("demo seed", () => {
  it("creates a demo organisation whose admin can log in and whose devices can authenticate", async () => {
    const password = "demo password 123";
    const seed = await seedDemo(h.db.pool, {
      adminPassword: password,
      passwordHashing: TEST_HASHING,
      slug: "demo-a",
    });
    expect(seed.devices).toHaveLength(20);
    expect(new Set(seed.staff.map((s) => s.role))).toEqual(
      new Set(["org_admin", "dept_admin", "operator", "locator", "auditor"]),
    );
    const first = seed.devices[0];
    const stored = await h.db.pool.query("SELECT mqtt_secret_sha256 FROM devices WHERE serial = $1", [
      first?.serial,
    ]);
    expect(verifyDeviceSecret(first?.secret as string, stored.rows[0].mqtt_secret_sha256)).toBe(true);
    const c = new Client(h);
    // The demo organisation requires a second factor of its administrators; the seed hands out the secret.
    expect((await c.login(seed.adminEmail, password)).body.stage).toBe("second_factor_required");
    const code = await generate({
      secret: seed.adminTotp.secret,
      epoch: Math.floor(h.clock.now.getTime() / 1000),
    });
    expect((await c.post("/api/v1/auth/second-factor", { code })).status).toBe(200);
    expect(seed.adminTotp.otpauthUri).toContain("otpauth://totp/");
    expect(((await c.get("/api/v1/recipients")).body as unknown[]).length).toBe(20);
    // The history screen has something to show: two closed alarms, each with its whole timeline.
    const closed = async () =>
      ((await c.get("/api/v1/alarms?state=resolved")).body as { items: { id: string; outcome: string }[] })
        .items;
    const history = await closed();
    expect(history.map((a) => a.outcome).sort()).toEqual(["no_help_needed", "resolved_by_phone"]);
    const detail = (await c.get(`/api/v1/alarms/${history[0]?.id}`)).body as {
      transitions: { kind: string }[];
    };
    expect(detail.transitions.map((t) => t.kind)).toEqual([
      "raised",
      "acknowledged",
      "commented",
      "resolved",
    ]);
    const depts = (await c.get("/api/v1/departments")).body as { parentId: string | null }[];
    expect(depts.filter((d) => d.parentId === null)).toHaveLength(2);
    expect(depts.length).toBeGreaterThanOrEqual(5);

    // Again: same organisation and recipients, new device secrets.
    const again = await seedDemo(h.db.pool, {
      adminPassword: password,
      passwordHashing: TEST_HASHING,
      slug: "demo-a",
    });
    expect(again.organisationId).toBe(seed.organisationId);
    expect(again.devices.map((d) => d.recipientId)).toEqual(seed.devices.map((d) => d.recipientId));
    expect(again.devices[0]?.secret).not.toBe(first?.secret);
    expect(((await c.get("/api/v1/recipients")).body as unknown[]).length).toBe(20);
    expect(await closed()).toHaveLength(2);
  });
});

describe("startApiServer", () => {
  it("serves the app over HTTP with the real client address and closes", async () => {
    const api = await startApiServer({ ...h.deps, clientIp: undefined, port: 0, host: "127.0.0.1" });
    try {
      const health = await fetch(`${api.url}/api/healthz`);
      expect(await health.json()).toEqual({ ok: true, database: "ok", listener: "ok" });
      const login = await fetch(`${api.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://localhost:3000" },
        body: JSON.stringify({ email: "nobody@example.org", password: "whatever it is" }),
      });
      expect(login.status).toBe(401);
      const { rows } = await h.db.pool.query(
        "SELECT host(ip) AS ip FROM login_attempts WHERE email = 'nobody@example.org' ORDER BY id DESC LIMIT 1",
      );
      expect(rows[0].ip).toBe("127.0.0.1");
      expect(api.server.listening).toBe(true);
    } finally {
      await api.close();
    }
    expect(api.server.listening).toBe(false);
  });
});
