/**
 * Fleet benchmark: `npm run bench:fleet -w @vakt/ingest`. Prints figures; asserts nothing.
 *
 * A site's worth of devices connected at once: FLEET_DEVICES (default 10,000)
 * provisioned devices, each on its own MQTT connection with its own
 * credentials, to Mosquitto with the shipped configuration (device listener),
 * reporting every FLEET_INTERVAL_S (60 s) with FLEET_TRACKING_SHARE (1 %) of
 * them tracking every FLEET_TRACKING_INTERVAL_S (10 s), for FLEET_SECONDS
 * (300) after they are all connected; ingest (in this process) stores them.
 * The devices run in FLEET_SIMULATORS processes of their own (default 4,
 * bench/fleet-devices.ts), so no single event loop with every client delays
 * the fleet's publishes.
 *
 * Printed: how many connected, positions PUBACKed and stored (lost = PUBACKed
 * but not stored), ingest's lag per position (stored at, the row's
 * received_at, the commit's transaction time, minus the fix time the device
 * stamped as it published: p50/p99/max over the steady window), and resident
 * memory before and after the fleet connected for Mosquitto, this process
 * (ingest) and the device simulator, per connection. With BENCH_RESULTS_FILE
 * set, the figures are appended to it as one JSON line.
 */
import { spawn } from "node:child_process";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { percentiles } from "@vakt/schemas/stats";
import {
  deviceSecretSha256,
  generateDeviceSecret,
  mosquittoPasswordHash,
  startEmbeddedPostgres,
} from "@vakt/storage";
import { createTestDatabase } from "@vakt/storage/testing";
import mqtt from "mqtt";
import pino from "pino";
import { generateMosquittoFiles } from "../src/broker/mosquitto-files";
import { createIngest } from "../src/ingest";
import { makeOrganisation } from "../src/testing/fixtures";
import { startMosquitto } from "../src/testing/mosquitto";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const DEVICES = env("FLEET_DEVICES", 10_000);
const SECONDS = env("FLEET_SECONDS", 300);
const INTERVAL_S = env("FLEET_INTERVAL_S", 60);
const TRACKING_SHARE = env("FLEET_TRACKING_SHARE", 0.01);
const TRACKING_INTERVAL_S = env("FLEET_TRACKING_INTERVAL_S", 10);
const RAMP_PER_S = env("FLEET_RAMP_PER_S", 250);
/** Simulator processes: one process's event loop with 10,000 clients delays its own publishes. */
const SIMULATORS = Math.max(1, env("FLEET_SIMULATORS", 4));
const logger = pino({ level: process.env.LOG_LEVEL ?? "warn" });
const benchDir = fileURLToPath(new URL(".", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

async function rssOf(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : Number.NaN;
}

interface FleetReport {
  phase: string;
  connected: number;
  published: number;
  acked: number;
  failed: number;
  connectFailed: number;
  rssBytes: number;
  at: number;
}

/**
 * The simulator processes (bench/fleet-devices.ts), one per environment; each prints a report a
 * second, and the fleet's report is their sum (memory too), once every process has one.
 */
function startSimulators(envs: NodeJS.ProcessEnv[]) {
  const sims = envs.map((env) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(benchDir, "fleet-devices.ts")], {
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const reports: FleetReport[] = [];
    let buffered = "";
    child.stdout.on("data", (b: Buffer) => {
      buffered += b.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const l of lines) if (l.trim()) reports.push(JSON.parse(l) as FleetReport);
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    return { child, reports, exited };
  });
  const sum = (phase: string, pick: (reports: FleetReport[]) => FleetReport | undefined) => {
    const picked = sims.map((s) => pick(s.reports));
    if (picked.some((r) => r === undefined)) return undefined;
    return (picked as FleetReport[]).reduce((a, r) => ({
      phase,
      connected: a.connected + r.connected,
      published: a.published + r.published,
      acked: a.acked + r.acked,
      failed: a.failed + r.failed,
      connectFailed: a.connectFailed + r.connectFailed,
      rssBytes: a.rssBytes + r.rssBytes,
      at: Math.max(a.at, r.at),
    }));
  };
  return {
    first: () => sum("first", (rs) => rs[0]),
    latest: () => sum("run", (rs) => rs.at(-1)),
    ramped: () => sims.every((s) => s.reports.some((r) => r.phase === "ramped")),
    done: () => sum("done", (rs) => rs.find((r) => r.phase === "done")),
    /** Every process's exit code; the first that is not 0, else 0. */
    exited: Promise.all(sims.map((s) => s.exited)).then((codes) => codes.find((c) => c !== 0) ?? 0),
    kill: () => {
      for (const s of sims) s.child.kill("SIGKILL");
    },
  };
}

async function main() {
  let stopServer = async () => {};
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const dir = await mkdtemp(join(tmpdir(), "vakt-fleet-bench-"));
    const server = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
    serverUrl = server.url;
    stopServer = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const db = await createTestDatabase({ serverUrl, poolMax: 12 });
  const work = await mkdtemp(join(tmpdir(), "vakt-fleet-"));
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const pool = db.pool;
    const org = await makeOrganisation(pool);
    const fleet = Array.from({ length: DEVICES }, (_, i) => ({
      serial: `FL${String(i).padStart(6, "0")}`,
      secret: generateDeviceSecret(),
    }));
    for (let i = 0; i < fleet.length; i += 1_000) {
      const part = fleet.slice(i, i + 1_000);
      await pool.query(
        `INSERT INTO devices (organisation_id, department_id, serial, mqtt_secret_sha256, mqtt_secret_mosquitto, protocol)
         SELECT $1, $2, s, h, m, 'mqtt' FROM unnest($3::text[], $4::text[], $5::text[]) AS u(s, h, m)`,
        [
          org.orgId,
          org.deptId,
          part.map((d) => d.serial),
          part.map((d) => deviceSecretSha256(d.secret)),
          part.map((d) => mosquittoPasswordHash(d.secret)),
        ],
      );
    }
    // Each simulator process gets an equal share of the fleet, and of the connection rate.
    const shares = Array.from({ length: SIMULATORS }, (_, k) => {
      const from = Math.floor((k * fleet.length) / SIMULATORS);
      const to = Math.floor(((k + 1) * fleet.length) / SIMULATORS);
      return { k, offset: from, devices: fleet.slice(from, to) };
    });
    for (const share of shares)
      await writeFile(
        join(work, `credentials-${share.k}`),
        share.devices.map((d) => `${d.serial} ${d.secret}`).join("\n"),
      );
    const service = { username: "vakt-fleet-ingest", password: "fleet-bench-service-password" };
    const files = await generateMosquittoFiles(pool, [service]);
    const broker = await startMosquitto({
      passwd: files.passwd,
      servicePasswd: files.servicePasswd,
      acl: files.acl,
    });
    stops.push(() => broker.stop());
    const ingest = createIngest({
      pool,
      databaseUrl: db.url,
      mqttUrl: broker.url,
      mqttUsername: service.username,
      mqttPassword: service.password,
      logger,
      config: { INGEST_CLIENT_ID: "vakt-fleet-bench" },
      http: false,
    });
    await ingest.start();
    stops.push(() => ingest.stop());
    // The floor beside ingest's lag: the same messages as a plain subscriber receives them from the
    // broker (fix time to arrival), so the simulator's and the broker's share of the lag shows.
    const floorClient = await mqtt.connectAsync(broker.url, {
      ...service,
      clientId: "vakt-fleet-floor",
      protocolVersion: 5,
    });
    stops.push(() => floorClient.endAsync(true));
    const floorLags: number[] = [];
    let floorFrom = Number.POSITIVE_INFINITY;
    floorClient.on("message", (_topic, payload) => {
      const now = Date.now();
      if (now < floorFrom) return;
      const t = (JSON.parse(payload.toString()) as { fix?: { t?: number } }).fix?.t;
      if (typeof t === "number") floorLags.push(now - t);
    });
    await floorClient.subscribeAsync("vakt/v1/d/+/up/position", { qos: 0 });
    await sleep(1_000);
    const before = { broker: await rssOf(broker.process.pid), ingest: process.memoryUsage().rss };

    const sims = startSimulators(
      shares.map((share) => ({
        ...process.env,
        FLEET_URL: broker.deviceUrl,
        FLEET_CREDENTIALS: join(work, `credentials-${share.k}`),
        FLEET_INDEX_OFFSET: String(share.offset),
        FLEET_RAMP_PER_S: String(Math.max(1, Math.round(RAMP_PER_S / SIMULATORS))),
        FLEET_INTERVAL_S: String(INTERVAL_S),
        FLEET_TRACKING_SHARE: String(TRACKING_SHARE),
        FLEET_TRACKING_INTERVAL_S: String(TRACKING_INTERVAL_S),
        FLEET_SECONDS: String(SECONDS),
        FLEET_ACK_LOG: join(work, `acked-${share.k}`),
      })),
    );
    stops.push(async () => sims.kill());
    const simFirstRss = async () => {
      for (;;) {
        const first = sims.first();
        if (first) return first.rssBytes;
        await sleep(100);
      }
    };
    const simBefore = await simFirstRss();
    const rampStart = Date.now();
    while (!sims.ramped()) await sleep(250);
    const lastConnected = () => sims.latest()?.connected ?? 0;
    // Connected: every device, or as many as manage within 60 s after the ramp.
    const connectDeadline = Date.now() + 60_000;
    while (lastConnected() < DEVICES && Date.now() < connectDeadline) await sleep(250);
    const connectedAt = Date.now();
    floorFrom = connectedAt;
    // Transactions committed in the steady window: mostly ingest's batches, so CPU per batch follows.
    const commits = async () =>
      Number(
        (
          await pool.query<{ n: string }>(
            "SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()",
          )
        ).rows[0]?.n ?? Number.NaN,
      );
    const commitsAtStart = await commits();
    // Ingest's own lag (its gauge: the oldest message received and not yet committed), sampled.
    const gaugeLags: number[] = [];
    const sampler = setInterval(() => {
      void ingest.metrics.lagSeconds.get().then((g) => gaugeLags.push((g.values[0]?.value ?? 0) * 1000));
    }, 250);
    stops.push(async () => clearInterval(sampler));
    const connected = lastConnected();
    console.log(
      `${connected} of ${DEVICES} devices connected in ${((connectedAt - rampStart) / 1000).toFixed(1)} s ` +
        `(ramp ${RAMP_PER_S}/s over ${SIMULATORS} simulator processes; ${sims.latest()?.connectFailed ?? 0} connection errors)`,
    );
    await sleep(Math.min(30_000, SECONDS * 250));
    const steady = {
      broker: await rssOf(broker.process.pid),
      ingest: process.memoryUsage().rss,
      sim: sims.latest()?.rssBytes ?? Number.NaN,
    };
    const code = await sims.exited;
    const done = sims.done();
    const steadyCommits = (await commits()) - commitsAtStart;
    floorFrom = Number.POSITIVE_INFINITY;
    clearInterval(sampler);
    // Until what was acknowledged is stored, or nothing more arrives for 10 s.
    const storedCount = async () =>
      Number(
        (
          await pool.query<{ n: string }>("SELECT count(*) AS n FROM positions WHERE organisation_id = $1", [
            org.orgId,
          ])
        ).rows[0]?.n ?? 0,
      );
    for (let last = -1, same = 0; same < 10; ) {
      const n = await storedCount();
      if (n >= (done?.acked ?? 0)) break;
      same = n === last ? same + 1 : 0;
      last = n;
      await sleep(1_000);
    }
    const rows = await pool.query<{ n: string; p50: number; p99: number; max: number }>(
      `SELECT count(*) AS n,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99,
              max(lag) AS max
         FROM (SELECT extract(epoch FROM received_at - time) AS lag FROM positions
                WHERE organisation_id = $1 AND time >= $2) l`,
      [org.orgId, new Date(connectedAt)],
    );

    const dead = await pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM dead_letters WHERE organisation_id = $1",
      [org.orgId],
    );
    const stored = await storedCount();
    // Name what was acknowledged and not stored, with what the database knows of that device.
    const ackedIds = (
      await Promise.all(
        shares.map((share) => readFile(join(work, `acked-${share.k}`), "utf8").catch(() => "")),
      )
    )
      .join("\n")
      .split("\n")
      .filter(Boolean);
    const storedIds = new Set(
      (
        await pool.query<{ k: string }>(
          `SELECT d.serial || ' ' || p.message_id AS k FROM positions p JOIN devices d ON d.id = p.device_id
            WHERE p.organisation_id = $1`,
          [org.orgId],
        )
      ).rows.map((r) => r.k),
    );
    const missing = ackedIds.filter((k) => !storedIds.has(k));
    if (missing.length > 0) {
      console.log(`acknowledged, not stored: ${missing.length}, e.g. ${missing.slice(0, 8).join(", ")}`);
      const raw = await pool
        .query(
          `SELECT count(*) AS n FROM device_messages m JOIN devices d ON d.id = m.device_id
          WHERE d.serial || ' ' || m.message_id = ANY($1::text[])`,
          [missing],
        )
        .catch((err: Error) => ({ rows: [{ n: `? (${err.message})` }] }));
      console.log(`  of those in the raw device-message log: ${raw.rows[0]?.n}`);
      const reasons = await pool.query("SELECT reason, count(*) AS n FROM dead_letters GROUP BY 1");
      console.log(`  dead letters of any organisation: ${JSON.stringify(reasons.rows)}`);
    }
    const acked = done?.acked ?? Number.NaN;
    const lag = rows.rows[0];
    const perConn = (after: number, base: number) => (after - base) / Math.max(1, connected) / 1024;
    const runS = ((done?.at ?? Date.now()) - connectedAt) / 1000;
    const rate = (Number(lag?.n ?? 0) / Math.max(1, runS)).toFixed(1);
    console.log(
      `simulator exit ${code}; ${done?.published ?? "?"} published, ${acked} PUBACKed, ${done?.failed ?? "?"} failed`,
    );
    console.log(
      `positions stored ${stored} (PUBACKed ${acked}; lost ${acked - stored}); dead letters ${dead.rows[0]?.n}`,
    );
    console.log(
      `steady window ${runS.toFixed(0)} s, ${rate} positions/s: lag (stored - fix time) ` +
        `p50 ${(Number(lag?.p50) * 1000).toFixed(0)} ms, p99 ${(Number(lag?.p99) * 1000).toFixed(0)} ms, max ${(Number(lag?.max) * 1000).toFixed(0)} ms`,
    );
    const floor = percentiles(floorLags);
    console.log(
      `floor, the same messages at a plain subscriber (arrival - fix time): p50 ${floor.p50} ms, p99 ${floor.p99} ms, max ${floor.max} ms (n=${floor.n})`,
    );
    const ingestLag = percentiles(gaugeLags);
    console.log(
      `PostgreSQL commits in the steady window: ${steadyCommits} (${(steadyCommits / runS).toFixed(1)}/s)`,
    );
    console.log(
      `ingest's lag gauge (oldest received, not committed), every 250 ms: p50 ${ingestLag.p50.toFixed(0)} ms, p99 ${ingestLag.p99.toFixed(0)} ms, max ${ingestLag.max.toFixed(0)} ms (n=${ingestLag.n})`,
    );
    console.log(
      `memory (RSS) Mosquitto ${(before.broker / MiB).toFixed(0)} -> ${(steady.broker / MiB).toFixed(0)} MiB ` +
        `(${perConn(steady.broker, before.broker).toFixed(1)} KiB per connection); ` +
        `ingest ${(before.ingest / MiB).toFixed(0)} -> ${(steady.ingest / MiB).toFixed(0)} MiB ` +
        `(${perConn(steady.ingest, before.ingest).toFixed(2)} KiB per device); ` +
        `simulator ${(simBefore / MiB).toFixed(0)} -> ${(steady.sim / MiB).toFixed(0)} MiB`,
    );
    if (process.env.BENCH_RESULTS_FILE) {
      const record = {
        bench: "fleet",
        devices: DEVICES,
        simulators: SIMULATORS,
        connected,
        connectSeconds: (connectedAt - rampStart) / 1000,
        intervalS: INTERVAL_S,
        trackingShare: TRACKING_SHARE,
        trackingIntervalS: TRACKING_INTERVAL_S,
        steadySeconds: runS,
        positionsPerS: Number(rate),
        published: done?.published,
        acked,
        stored,
        lost: acked - stored,
        deadLetters: Number(dead.rows[0]?.n ?? 0),
        lagMs: { p50: Number(lag?.p50) * 1000, p99: Number(lag?.p99) * 1000, max: Number(lag?.max) * 1000 },
        floorLagMs: floor,
        ingestGaugeLagMs: ingestLag,
        brokerRssMiB: { before: before.broker / MiB, steady: steady.broker / MiB },
        brokerKiBPerConnection: perConn(steady.broker, before.broker),
        ingestRssMiB: { before: before.ingest / MiB, steady: steady.ingest / MiB },
        ingestKiBPerDevice: perConn(steady.ingest, before.ingest),
        steadyPositions: Number(lag?.n ?? 0),
        steadyCommits,
        // The ramp (10,000 connects, each a presence update) and the steady window apart: the
        // steady window's CPU per stored position is what the capacity model needs.
        phases: [
          { name: "ramp", start: rampStart, end: connectedAt },
          { name: "steady", start: connectedAt, end: done?.at ?? Date.now() },
        ],
      };
      await appendFile(process.env.BENCH_RESULTS_FILE, `${JSON.stringify(record)}\n`);
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await db.drop();
    await rm(work, { recursive: true, force: true });
    await stopServer();
  }
}

await main();
process.exit(0);
