/**
 * `npm run bench -w @vakt/api`: current positions for an organisation with
 * 1,000 recipients through the full path (session lookup, policy, scoped query,
 * activity-log row in the same transaction), against two references served
 * the same way in the same run: a bare Hono route, and the same SQL run bare
 * through pg with its rows sent by c.json (what the database and JSON cost
 * without session, policy and log). Also one recipient's 24-hour history at
 * 10 s fixes (8,640 points). Prints figures; asserts nothing.
 *
 * Uses TEST_DATABASE_URL when set (a server where it may create a database),
 * otherwise an embedded PostgreSQL. BENCH_SECONDS (default 8) and
 * BENCH_CONCURRENCY (default 16) tune the load. With BENCH_RESULTS_FILE set,
 * the figures are also appended to that file as one JSON line.
 */
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { percentile } from "@vakt/schemas/stats";
import { startEmbeddedPostgres } from "@vakt/storage";
import { createTestDatabase } from "@vakt/storage/testing";
import { Hono } from "hono";
import pino from "pino";
import { startApiServer } from "../src/index";
import { CURRENT_POSITIONS_SQL } from "../src/positions/service";
import { seedBench } from "./seed-bench";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const RECIPIENTS = 1_000;

interface Result {
  requests: number;
  errors: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  /** Epoch ms, so sampled CPU of this process can be attributed to the run. */
  start: number;
  end: number;
}

async function load(url: string, headers: Record<string, string>): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const start = Date.now();
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        if (res.status !== 200) errors++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  // No requests: 0, not NaN (the results file is JSON).
  const at = (q: number) => (latencies.length > 0 ? percentile(latencies, q) : 0);
  return {
    requests: latencies.length,
    errors,
    perSecond: latencies.length / elapsed,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    start,
    end: Date.now(),
  };
}

const fmt = (name: string, r: Result) =>
  `${name.padEnd(34)} ${r.perSecond.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99
    .toFixed(1)
    .padStart(6)} ms   (${r.requests} requests, ${r.errors} errors)`;

async function main() {
  let stopServer = async () => {};
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const dir = await mkdtemp(join(tmpdir(), "vakt-bench-"));
    const pg = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
    serverUrl = pg.url;
    stopServer = async () => {
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const db = await createTestDatabase({ serverUrl, poolMax: 20 });
  try {
    const t0 = performance.now();
    const { email, password, organisationId, historyRecipientId } = await seedBench(db.pool, RECIPIENTS);
    console.log(
      `seeded ${RECIPIENTS} recipients with positions in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    const api = await startApiServer({
      pool: db.pool,
      logger: pino({ level: "silent" }),
      clock: { now: () => new Date() },
      config: {
        PUBLIC_URL: "http://localhost:3000",
        SESSION_IDLE_MINUTES: 30,
        SESSION_ABSOLUTE_HOURS: 12,
        PSEUDONYM_KEY: "bench-pseudonym-key-0123456789abcdef",
        NODE_ENV: "production",
      },
      deviceCommands: {
        publishConfig: async () => {},
        publishCommand: async () => {},
        publishAck: async () => {},
        publishOwntracksCommand: async () => {},
      },
      port: 0,
      host: "127.0.0.1",
    });
    const bare = new Hono();
    bare.get("/bare", (c) => c.json({ ok: true }));
    // The operator's scope (every department), resolved once: the reference pays only for the SQL and the JSON.
    const departments = (
      await db.pool.query<{ id: string }>("SELECT id FROM departments WHERE organisation_id = $1", [
        organisationId,
      ])
    ).rows.map((r) => r.id);
    bare.get("/bare-positions", async (c) => {
      const now = new Date();
      const { rows } = await db.pool.query(CURRENT_POSITIONS_SQL, [
        organisationId,
        departments,
        new Date(now.getTime() - 30 * 86_400_000),
        now,
      ]);
      return c.json(rows);
    });
    const bareServer = serve({ fetch: bare.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise((r) => bareServer.once("listening", r));
    const bareAddress = bareServer.address();
    const barePort = typeof bareAddress === "object" && bareAddress ? bareAddress.port : 0;

    const login = await fetch(`${api.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://localhost:3000" },
      body: JSON.stringify({ email, password }),
    });
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const check = await fetch(`${api.url}/api/v1/positions/current`, { headers: { cookie } });
    const body = (await check.json()) as { features: unknown[] };
    console.log(`current positions: ${body.features.length} features, ${JSON.stringify(body).length} bytes`);

    console.log(`load: ${CONCURRENCY} concurrent clients, ${SECONDS} s each, Node ${process.version}`);
    const bareResult = await load(`http://127.0.0.1:${barePort}/bare`, {});
    console.log(fmt("bare Hono route", bareResult));
    const barePositions = await load(`http://127.0.0.1:${barePort}/bare-positions`, {});
    console.log(fmt("same SQL bare through pg, c.json", barePositions));
    const full = await load(`${api.url}/api/v1/positions/current`, { cookie });
    console.log(fmt("GET /positions/current (1,000)", full));
    console.log(
      `ratio: full path ${(full.perSecond / barePositions.perSecond).toFixed(2)} of the bare SQL route's throughput (p99 at ${CONCURRENCY} clients ${full.p99.toFixed(1)} ms against ${barePositions.p99.toFixed(1)} ms); bare Hono route ${(bareResult.perSecond / full.perSecond).toFixed(1)}x the full path`,
    );
    const to = new Date();
    const from = new Date(to.getTime() - 86_400_000);
    const historyUrl = `${api.url}/api/v1/positions/recipients/${historyRecipientId}/history?from=${from.toISOString()}&to=${to.toISOString()}&maxPoints=8640`;
    const sample = (await (await fetch(historyUrl, { headers: { cookie } })).json()) as {
      points: unknown[];
      bucketSeconds: number | null;
    };
    console.log(
      `history: ${sample.points.length} points over 24 h (bucket ${sample.bucketSeconds ?? "none: raw 10 s fixes"})`,
    );
    const history = await load(historyUrl, { cookie });
    console.log(fmt("GET history, 24 h at 10 s", history));
    const logged = await db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM activity_log WHERE action = 'position.current_viewed'",
    );
    console.log(`activity-log rows written for position views: ${logged.rows[0]?.n}`);
    if (process.env.BENCH_RESULTS_FILE) {
      const record = {
        bench: "api",
        recipients: RECIPIENTS,
        concurrency: CONCURRENCY,
        seconds: SECONDS,
        bare: bareResult,
        barePositions,
        currentPositions: full,
        history: { ...history, points: sample.points.length },
        activityLogRows: logged.rows[0]?.n,
        phases: [
          { name: "bare_route", start: bareResult.start, end: bareResult.end },
          { name: "bare_positions", start: barePositions.start, end: barePositions.end },
          { name: "current_positions", start: full.start, end: full.end },
          { name: "history_24h", start: history.start, end: history.end },
        ],
      };
      await appendFile(process.env.BENCH_RESULTS_FILE, `${JSON.stringify(record)}\n`);
    }
    await api.close();
    bareServer.close();
  } finally {
    await db.drop();
    await stopServer();
  }
}

void main();
