/**
 * `npm start` as a person runs it: the process prints where the console is and
 * the demo login, and Ctrl-C (SIGINT) stops every part and exits 0.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@vakt/storage";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const cwd = new URL("..", import.meta.url).pathname;
let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase({ applyMigrations: false });
  dataDir = await mkdtemp(join(tmpdir(), "vakt-main-"));
});
afterAll(async () => {
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("npm start (standalone/src/main.ts)", () => {
  it("refuses a bad setting with one line naming the variable", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd,
      env: { ...process.env, SIM_DEVICES: "many", DATABASE_URL: db.url },
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([expect.stringMatching(/^vakt: SIM_DEVICES: /)]);
  });

  it("prints the console URL and the demo login, and stops cleanly on Ctrl-C", async () => {
    const apiPort = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        DATA_DIR: dataDir,
        API_PORT: String(apiPort),
        MQTT_PORT: String(await freePort()),
        INGEST_HTTP_PORT: String(await freePort()),
        SIM_DEVICES: "2",
        LOG_LEVEL: "info",
      },
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    await new Promise<void>((resolve, reject) => {
      const check = () => (out.includes("Ctrl-C stops everything") ? resolve() : setTimeout(check, 100));
      check();
      void exited.then(() => reject(new Error(`exited early: ${out}`)));
    });
    expect(out).toContain(`Vakt is running: http://localhost:${apiPort}`);
    const password = /Password: (\S+)/.exec(out)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const email = /Demo administrator: (\S+)/.exec(out)?.[1];
    const login = await fetch(`http://127.0.0.1:${apiPort}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: `http://localhost:${apiPort}` },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);

    child.kill("SIGINT");
    expect(await exited).toBe(0);
    for (const part of ["simulator", "api", "ingest", "mqtt broker", "database pool"]) {
      expect(out).toMatch(new RegExp(`"part":"${part}".*"msg":"stopped"`));
    }
    // Nothing is left listening.
    await expect(fetch(`http://127.0.0.1:${apiPort}/api/healthz`)).rejects.toThrow();
  });
});
