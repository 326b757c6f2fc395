import { request } from "node:http";
import fc from "fast-check";
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addRecipient,
  addUser,
  type Client,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  type TestOrg,
  until,
} from "../test/harness";
import { createApiMetrics } from "./metrics";
import { type RunningApi, startApiServer } from "./server";

let h: Harness;
let org: TestOrg;
let api: RunningApi;
let metricsUrl: string;
let serverStarted: number;

beforeAll(async () => {
  // The harness app shares the metrics, so deliveries made through it are counted too.
  h = await createHarness({ metrics: createApiMetrics() });
  h.clock.now = new Date();
  org = await createOrg(h);
  serverStarted = Date.now();
  api = await startApiServer({
    ...h.deps,
    metricsAddress: { port: 0, host: "127.0.0.1" },
    clock: { now: () => new Date() },
    port: 0,
    host: "127.0.0.1",
    live: { revalidateMs: 1_000 },
    alerting: { concurrency: 0 },
  });
  metricsUrl = `${api.metricsServer?.url}/metrics`;
}, 60_000);
afterAll(async () => {
  await api?.close();
  await h?.close();
});

async function scrape(): Promise<string> {
  const res = await fetch(metricsUrl);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  return res.text();
}

/** The value of one series, or undefined when it is absent; labels must match exactly. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      got[k as string] = v as string;
    const want = Object.entries(labels);
    if (want.length !== Object.keys(got).length) continue;
    if (want.every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** On a connection of its own: the server closes it after refusing the body unread. */
function oversizedPost(url: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", authorization: "Bearer x" },
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", reject);
    req.end("x".repeat(2 * 1024 * 1024));
  });
}

const cookieOf = (c: Client) => [...c.cookies].map(([k, v]) => `${k}=${v}`).join("; ");

describe("API metrics", () => {
  it("are served on the metrics address only, never on the public API port", async () => {
    expect(new URL(metricsUrl).port).not.toBe(new URL(api.url).port);
    for (const path of ["/metrics", "/api/metrics", "/api/v1/metrics"]) {
      const res = await fetch(`${api.url}${path}`);
      const text = await res.text();
      expect(res.status, path).not.toBe(200);
      expect(text, path).not.toContain("vakt_api_");
    }
    // The metrics listener serves nothing of the API either.
    expect((await fetch(`${new URL(metricsUrl).origin}/api/healthz`)).status).toBe(404);
    expect((await fetch(`${new URL(metricsUrl).origin}/api/v1/auth/me`)).status).toBe(404);
    expect(await scrape()).toContain("# TYPE vakt_api_http_requests_total counter");
  });

  it("count requests by route template and status, and the counts move", async () => {
    const labels = { method: "GET", route: "/api/healthz", status: "200", ok: "true" };
    const before = value(await scrape(), "vakt_api_http_requests_total", labels) ?? 0;
    for (let i = 0; i < 3; i++) expect((await fetch(`${api.url}/api/healthz`)).status).toBe(200);
    const after = await scrape();
    expect(value(after, "vakt_api_http_requests_total", labels)).toBe(before + 3);
    expect(value(after, "vakt_api_http_request_duration_seconds_count", labels)).toBe(before + 3);
    // A refusal is counted under its status.
    await fetch(`${api.url}/api/v1/devices`);
    expect(
      value(await scrape(), "vakt_api_http_requests_total", {
        method: "GET",
        route: "/api/v1/devices",
        status: "401",
        ok: "false",
      }),
    ).toBeGreaterThanOrEqual(1);
    // Refused by a middleware before any handler ran (body limit, cross-site form post): still
    // counted under the route the request was for, not under the middleware's pattern.
    expect(await oversizedPost(`${api.url}/api/v1/recipients`)).toBe(413);
    const csrf = await fetch(`${api.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
      body: "email=a&password=b",
    });
    expect(csrf.status).toBe(403);
    const text = await scrape();
    expect(
      value(text, "vakt_api_http_requests_total", {
        method: "POST",
        route: "/api/v1/recipients",
        status: "413",
        ok: "false",
      }),
    ).toBe(1);
    expect(
      value(text, "vakt_api_http_requests_total", {
        method: "POST",
        route: "/api/v1/auth/login",
        status: "403",
        ok: "false",
      }),
    ).toBe(1);
    expect(text).not.toMatch(/route="\/api\/\*"/);
  });

  it("never label a series with the raw path: ids and made-up paths fold into route templates", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uuid(), fc.stringMatching(/^[a-z0-9]{6,20}$/), async (id, junk) => {
        await fetch(`${api.url}/api/v1/recipients/${id}`);
        await fetch(`${api.url}/api/v1/${junk}/${junk}`);
        const text = await scrape();
        expect(text).not.toContain(id);
        expect(text).not.toContain(`/${junk}`);
      }),
      { numRuns: 15 },
    );
    const text = await scrape();
    expect(text).toMatch(/route="\/api\/v1\/recipients\/:id"/);
    const routes = new Set(
      [...text.matchAll(/vakt_api_http_requests_total\{[^}]*route="([^"]*)"/g)].map((m) => m[1]),
    );
    // Bounded by the route table, not by what callers send.
    expect(routes.size).toBeLessThan(20);
  });

  it("show open socket.io connections", async () => {
    const u = await addUser(h, org, "sockets", [{ role: "operator", departmentId: org.departments.a }]);
    const cookie = cookieOf(await loggedIn(h, u.email));
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect(api.url, {
          path: "/socket.io",
          transports: ["websocket"],
          reconnection: false,
          extraHeaders: { cookie },
        });
        s.once("connect", () => resolve(s));
        s.once("connect_error", reject);
      });
    const base = value(await scrape(), "vakt_api_socket_connections") ?? 0;
    const a = await open();
    const b = await open();
    await until(
      "two sockets counted",
      async () => value(await scrape(), "vakt_api_socket_connections") === base + 2,
    );
    a.close();
    b.close();
    await until("sockets gone", async () => value(await scrape(), "vakt_api_socket_connections") === base);
  });

  it("show the alert-routing queue: due jobs by task and how long the oldest has waited", async () => {
    const idle = await scrape();
    expect(value(idle, "vakt_api_alert_queue_lag_seconds")).toBe(0);
    expect(value(idle, "vakt_api_alert_queue_scrape_errors_total")).toBe(0);
    // No worker runs here (concurrency 0): the job stays due.
    await h.db.pool.query(
      "SELECT graphile_worker.add_job('vakt_metrics_probe', '{}'::json, run_at => now() - interval '90 seconds')",
    );
    await h.db.pool.query(
      "SELECT graphile_worker.add_job('vakt_metrics_probe', '{}'::json, run_at => now() + interval '1 hour')",
    );
    const text = await scrape();
    expect(value(text, "vakt_api_alert_queue_jobs", { task: "vakt_metrics_probe", state: "due" })).toBe(1);
    expect(value(text, "vakt_api_alert_queue_jobs", { task: "vakt_metrics_probe", state: "scheduled" })).toBe(
      1,
    );
    expect(value(text, "vakt_api_alert_queue_lag_seconds")).toBeGreaterThanOrEqual(90);
    await h.db.pool.query("DELETE FROM graphile_worker._private_jobs");
    const cleared = await scrape();
    expect(
      value(cleared, "vakt_api_alert_queue_jobs", { task: "vakt_metrics_probe", state: "due" }),
    ).toBeUndefined();
    expect(value(cleared, "vakt_api_alert_queue_lag_seconds")).toBe(0);
  });

  it("show the activity-log checkpoint's age, which a checkpoint brings back to about zero", async () => {
    const age = value(await scrape(), "vakt_api_activity_checkpoint_age_seconds");
    const sinceStart = (Date.now() - serverStarted) / 1000;
    expect(age).toBeDefined();
    // Counted from the start until the first checkpoint: at most as old as the server.
    expect(age as number).toBeLessThanOrEqual(sinceStart + 0.001);
    await new Promise((r) => setTimeout(r, 20));
    const before = Date.now();
    await api.checkpoint();
    const after = value(await scrape(), "vakt_api_activity_checkpoint_age_seconds") as number;
    expect(after).toBeLessThanOrEqual((Date.now() - before) / 1000 + 0.001);
    expect(after).toBeLessThan(age as number);
  });

  it("count alarm events pushed to consoles and alert deliveries by channel and result", async () => {
    const before = await scrape();
    const raised = value(before, "vakt_api_alarm_events_total", { change: "raised" }) ?? 0;
    const r = await addRecipient(h, org, org.departments.a, "Metrics");
    const { rows } = await h.db.pool.query<{ id: string }>(
      `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                           device_message_id, raised_at)
       VALUES ($1, $2, $3, $4, 'sos', 'critical', 'device', 'metrics-1', now()) RETURNING id`,
      [org.organisationId, org.departments.a, r.deviceId, r.recipientId],
    );
    await h.db.pool.query("SELECT pg_notify('vakt_events', $1)", [
      JSON.stringify({
        kind: "alarm.raised",
        alarmId: rows[0]?.id,
        organisationId: org.organisationId,
        departmentId: org.departments.a,
        recipientId: r.recipientId,
        deviceId: r.deviceId,
      }),
    ]);
    await until(
      "alarm event counted",
      async () => value(await scrape(), "vakt_api_alarm_events_total", { change: "raised" }) === raised + 1,
    );

    const admin = await addUser(h, org, "metrics-admin", [{ role: "org_admin", departmentId: null }]);
    const c = await loggedIn(h, admin.email);
    const ep = await c.post("/api/v1/alert-endpoints", {
      departmentId: org.departments.a,
      name: "duty phone",
      kind: "sms",
      target: "+4798765432",
    });
    expect(ep.status).toBe(201);
    const labels = { channel: "sms", result: "failed" };
    const failed = value(await scrape(), "vakt_api_alert_deliveries_total", labels) ?? 0;
    // No SMS gateway here: the attempt fails and is recorded.
    expect((await c.post(`/api/v1/alert-endpoints/${ep.body.id}/ping`, {})).body).toMatchObject({
      ok: false,
    });
    expect(value(await scrape(), "vakt_api_alert_deliveries_total", labels)).toBe(failed + 1);
  });
});
