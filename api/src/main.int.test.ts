import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  it("refuses an SMS gateway on a loopback address that the site did not allow", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: new URL("..", import.meta.url).pathname,
      env: {
        ...process.env,
        DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
        MQTT_URL: "mqtt://127.0.0.1:1",
        PSEUDONYM_KEY: "a-pseudonym-key-of-at-least-32-characters",
        SMS_GATEWAY_URL: "http://127.0.0.1:9/sms",
      },
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/SMS_GATEWAY_URL: refused: 127\.0\.0\.1 is a loopback address/);
  });

  it("migrates, serves, serves its metrics apart from the API, and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: new URL("..", import.meta.url).pathname,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        MQTT_URL: "mqtt://127.0.0.1:1",
        PSEUDONYM_KEY: "a-pseudonym-key-of-at-least-32-characters",
        API_PORT: String(port),
        API_HOST: "127.0.0.1",
        API_METRICS_PORT: String(metricsPort),
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
    // Not on the public port; on the metrics port (loopback by default), with the request just made.
    const publicMetrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(publicMetrics.status).toBe(404);
    expect(await publicMetrics.text()).not.toContain("vakt_api_");
    expect(out).toContain(`"url":"http://127.0.0.1:${metricsPort}/metrics","msg":"metrics listening"`);
    const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const series =
      /vakt_api_http_requests_total\{method="GET",route="\/api\/healthz",status="200",ok="true"\} (\d+)/;
    const first = Number(series.exec(await scrape())?.[1]);
    expect(first).toBeGreaterThanOrEqual(1);
    await fetch(`http://127.0.0.1:${port}/api/healthz`);
    const text = await scrape();
    expect(Number(series.exec(text)?.[1])).toBe(first + 1);
    expect(text).toContain("vakt_api_process_cpu_seconds_total");
    const tables = await db.pool.query("SELECT to_regclass('sessions') IS NOT NULL AS ok");
    expect(tables.rows[0].ok).toBe(true);
    child.kill("SIGTERM");
    const code = await exited;
    expect(code, out).toBe(0);
    expect(out).toContain("shutting down");
  });

  it("in production: migrates as the owner, creates the runtime role, runs as it, and refuses to start without activity-log keys", async () => {
    const port = await freePort();
    const role = `vakt_rt_${randomBytes(5).toString("hex")}`;
    const runtime = new URL(db.url);
    runtime.username = role;
    runtime.password = randomBytes(8).toString("hex");
    const env = {
      ...process.env,
      NODE_ENV: "production",
      DATABASE_URL: runtime.toString(),
      MIGRATION_DATABASE_URL: db.url,
      MQTT_URL: "mqtt://127.0.0.1:1",
      PSEUDONYM_KEY: "a-pseudonym-key-of-at-least-32-characters",
      API_PORT: String(port),
      API_HOST: "127.0.0.1",
      API_METRICS_PORT: String(await freePort()),
      ALERT_WORKER_CONCURRENCY: "1",
      LOG_LEVEL: "info",
    };
    const cwd = new URL("..", import.meta.url).pathname;
    const refused = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { cwd, env });
    let stderr = "";
    refused.stderr.on("data", (d) => {
      stderr += d;
    });
    expect(await new Promise((resolve) => refused.on("exit", resolve))).toBe(2);
    expect(stderr).toMatch(/ACTIVITY_LOG_KEYS: required in production/);

    const file = join(tmpdir(), `vakt-main-checkpoints-${randomBytes(4).toString("hex")}.jsonl`);
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd,
      env: {
        ...env,
        ACTIVITY_LOG_KEYS: `k1:${randomBytes(32).toString("base64")}`,
        ACTIVITY_CHECKPOINT_KEY: (
          generateKeyPairSync("ed25519").privateKey.export({ format: "der", type: "pkcs8" }) as Buffer
        ).toString("base64"),
        ACTIVITY_CHECKPOINT_FILE: file,
      },
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => (out.includes("api listening") ? resolve() : setTimeout(check, 100));
        check();
        void exited.then(() => reject(new Error(`exited early: ${out}`)));
      });
      expect((await fetch(`http://127.0.0.1:${port}/api/healthz`)).status).toBe(200);
      const seen = await db.pool.query<{ usename: string; rolsuper: boolean }>(
        `SELECT DISTINCT a.usename, r.rolsuper FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename
          WHERE a.datname = current_database() AND a.application_name = 'vakt-api'`,
      );
      expect(seen.rows).toEqual([{ usename: role, rolsuper: false }]);
      child.kill("SIGTERM");
      expect(await exited, out).toBe(0);
    } finally {
      child.kill("SIGKILL");
      await rm(file, { force: true });
      await db.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
      await db.pool.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });
});
