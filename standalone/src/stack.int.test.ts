/**
 * `npm start` in miniature: the whole stack on a fresh database with the
 * embedded broker and three simulated devices. Positions from the simulator
 * must reach the database through broker and ingest, the API must answer, and
 * stop() must bring every part down.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, standaloneEnv } from "@vakt/schemas";
import { freePort } from "@vakt/storage";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningStack, startStack } from "./stack";

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the standalone stack", () => {
  let db: TestDatabase;
  let stack: RunningStack;
  let dataDir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), "vakt-stack-"));
    const config = loadConfig(standaloneEnv, {
      DATABASE_URL: db.url,
      // A real broker when the run names one (it must accept the devices' logins, e.g. anonymous Mosquitto).
      ...(process.env.TEST_MQTT_URL ? { MQTT_URL: process.env.TEST_MQTT_URL } : {}),
      DATA_DIR: dataDir,
      API_PORT: String(await freePort()),
      MQTT_PORT: String(await freePort()),
      INGEST_HTTP_PORT: String(await freePort()),
      SIM_DEVICES: "3",
      DEMO_ADMIN_PASSWORD: "correct horse battery staple",
      LOG_LEVEL: "silent",
    });
    stack = await startStack(config, pino({ level: "silent" }));
  });

  afterAll(async () => {
    await stack?.stop();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("carries simulated positions from the devices into the database", async () => {
    const count = await waitFor(async () => {
      const { rows } = await db.pool.query<{ devices: string }>(
        "SELECT count(DISTINCT device_id) AS devices FROM positions",
      );
      const n = Number(rows[0]?.devices);
      return n === 3 ? n : undefined;
    });
    expect(count).toBe(3);
  });

  it("lets the demo administrator log in with the given password", async () => {
    const res = await fetch(`${stack.consoleUrl}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: stack.consoleUrl },
      body: JSON.stringify({ email: stack.demoLogin.email, password: "correct horse battery staple" }),
    });
    expect(res.status).toBe(200);
    expect(stack.demoLogin.generated).toBe(false);
  });

  it("serves the console", async () => {
    const res = await fetch(stack.consoleUrl);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<div id="root">');
  });
});
