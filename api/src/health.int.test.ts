import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness, until } from "../test/harness";
import { createApp } from "./app";
import { type RunningApi, startApiServer } from "./server";

let h: Harness;
let api: RunningApi;
beforeAll(async () => {
  h = await createHarness();
  api = await startApiServer({ ...h.deps, port: 0, host: "127.0.0.1", alerting: false });
}, 60_000);
afterAll(async () => {
  await api?.close();
  await h?.close();
});

describe("/api/healthz (what the Dockerfile and compose probe)", () => {
  it("answers 200 when the database answers and the live listener is connected", async () => {
    const res = await fetch(`${api.url}/api/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, database: "ok", listener: "ok" });
  });

  it("answers 503 when the database does not", async () => {
    const away = new pg.Pool({
      connectionString: "postgres://nobody@127.0.0.1:1/none",
      connectionTimeoutMillis: 500,
    });
    const app = createApp({ ...h.deps, pool: away });
    const res = await app.request("/api/healthz");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ok: false, database: "unreachable" });
    await away.end();
  });

  it("answers 503 once the live listener's connection is gone (alarms would no longer reach consoles)", async () => {
    const killed = await h.db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND query = 'LISTEN vakt_auth' AND pid <> pg_backend_pid()`,
    );
    expect(killed.rowCount).toBeGreaterThanOrEqual(1);
    await until("healthz 503", async () => (await fetch(`${api.url}/api/healthz`)).status === 503);
    expect(await (await fetch(`${api.url}/api/healthz`)).json()).toEqual({
      ok: false,
      database: "ok",
      listener: "down",
    });
  });
});
