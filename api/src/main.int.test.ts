import { spawn } from "node:child_process";
import { freePort } from "@vakt/storage";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ applyMigrations: false });
});
afterAll(async () => {
  await db.drop();
});

describe("src/main.ts", () => {
  it("refuses a bad environment with one line naming the variable", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: new URL("..", import.meta.url).pathname,
      env: {
        ...process.env,
        DATABASE_URL: "mysql://nope",
        MQTT_URL: "mqtt://127.0.0.1:1",
        PSEUDONYM_KEY: "short",
      },
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/DATABASE_URL: .*postgres/);
    expect(stderr).toMatch(/PSEUDONYM_KEY/);
  });

  it("migrates, serves, and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: new URL("..", import.meta.url).pathname,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        MQTT_URL: "mqtt://127.0.0.1:1",
        PSEUDONYM_KEY: "a-pseudonym-key-of-at-least-32-characters",
        API_PORT: String(port),
        API_HOST: "127.0.0.1",
        LOG_LEVEL: "info",
      },
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    await new Promise<void>((resolve, reject) => {
      const check = () => (out.includes("api listening") ? resolve() : setTimeout(check, 100));
      check();
      void exited.then(() => reject(new Error(`exited early: ${out}`)));
    });
    const res = await fetch(`http://127.0.0.1:${port}/api/healthz`);
    expect(res.status).toBe(200);
    const tables = await db.pool.query("SELECT to_regclass('sessions') IS NOT NULL AS ok");
    expect(tables.rows[0].ok).toBe(true);
    child.kill("SIGTERM");
    const code = await exited;
    expect(code, out).toBe(0);
    expect(out).toContain("shutting down");
  });
});
