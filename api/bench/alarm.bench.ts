/**
 * `npm run bench:alarm -w @vakt/api`: time from a device's alarm publish to
 * the `alarm:new` event in a connected socket.io client (operator of the
 * department), p50 and p99, idle and under a background load of positions
 * (5,000 per second by default, published by a separate process), then under
 * that load with one busy-loop process per core beside it (each loop in a session of its own, as
 * another program on the host runs, then inside the bench's own session); and in the
 * same run the bare MQTT publish-to-subscriber time on the same broker, as the
 * floor. The broker is Mosquitto from ingest's shipped configuration (as in
 * production; BENCH_BROKER=aedes runs the embedded aedes broker in this
 * process instead, as `npm start` does); ingest runs as a process of its own
 * (ingest/src/main.ts, as docker-compose runs it), the API and the socket.io
 * client in this process. Each alarm's time is also split at the NOTIFY
 * that its commit sends (a LISTEN connection of the bench's own): publish ->
 * commit in ingest (of which publish -> the alarm statement's start, its transaction's now() in
 * alarms.received_at: broker and ingest before the database), then NOTIFY -> socket.io event in the API. The load rate
 * reported is what the load process published over the measured window.
 * Prints figures; asserts nothing.
 *
 * Environment: TEST_DATABASE_URL (else an embedded PostgreSQL), BENCH_ALARMS
 * (per phase, default 100), BENCH_LOAD_RATE (positions/s, default 5000),
 * BENCH_LOAD_FIXES (fixes per message, default 5), BENCH_BROKER (mosquitto
 * or aedes). With BENCH_RESULTS_FILE set, the figures are also appended to
 * that file as one JSON line.
 */
import { spawn } from "node:child_process";
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateMosquittoFiles, startEmbeddedBroker } from "@vakt/ingest";
import { startMosquitto } from "@vakt/ingest/testing";
import { EVENTS_CHANNEL } from "@vakt/schemas";
import { percentile } from "@vakt/schemas/stats";
import { freePort, startEmbeddedPostgres } from "@vakt/storage";
import { createTestDatabase } from "@vakt/storage/testing";
import mqtt from "mqtt";
import pg from "pg";
import pino from "pino";
import { io as connect } from "socket.io-client";
import { hashPassword } from "../src/auth/secrets";
import { mqttDeviceCommands, startApiServer } from "../src/index";

const ALARMS = Number(process.env.BENCH_ALARMS ?? 100);
const BROKER = process.env.BENCH_BROKER === "aedes" ? "aedes" : "mosquitto";
const LOAD_RATE = Number(process.env.BENCH_LOAD_RATE ?? 5000);
const LOAD_FIXES = Number(process.env.BENCH_LOAD_FIXES ?? 5);
const LOAD_DEVICES = 500;
/** Idle, under load, and under load with busy loops in their own sessions and then in the lab's. */
const ALARM_PHASES = 4;
const logger = pino({ level: process.env.LOG_LEVEL ?? "silent" });
const benchDir = fileURLToPath(new URL(".", import.meta.url));
const ingestMain = join(benchDir, "../../ingest/src/main.ts");

/** Polls a health address until it answers 200; fails if the process exits first or after 60 s. */
async function waitHealthy(url: string, exited: Promise<void>) {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (gone) throw new Error(`${url}: the process exited before it was healthy`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url}: not healthy within 60 s`);
    await sleep(200);
  }
}

const summary = (label: string, xs: number[]) =>
  console.log(
    `${label.padEnd(46)} p50 ${percentile(xs, 0.5).toFixed(1).padStart(7)} ms   p99 ${percentile(xs, 0.99).toFixed(1).padStart(7)} ms   (n=${xs.length})`,
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  let stopServer = async () => {};
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const dir = await mkdtemp(join(tmpdir(), "vakt-alarm-bench-"));
    const pg = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
    serverUrl = pg.url;
    stopServer = async () => {
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const db = await createTestDatabase({ serverUrl, poolMax: 20 });
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const pool = db.pool;
    const org = (
      await pool.query<{ id: string }>(
        "INSERT INTO organisations (name, slug, require_admin_second_factor) VALUES ('Bench', $1, false) RETURNING id",
        [`alarm-bench-${Date.now()}`],
      )
    ).rows[0]?.id as string;
    const dept = (
      await pool.query<{ id: string }>(
        `INSERT INTO departments (id, organisation_id, name, ancestry)
         SELECT g, $1, 'Bench', ARRAY[g] FROM gen_random_uuid() g RETURNING id`,
        [org],
      )
    ).rows[0]?.id as string;
    const password = "bench password 123";
    const email = `op-${Date.now()}@example.org`;
    const user = (
      await pool.query<{ id: string }>(
        `INSERT INTO staff_users (organisation_id, email, first_name, last_name, password_hash)
         VALUES ($1, $2, 'Bench', 'Operator', $3) RETURNING id`,
        [org, email, await hashPassword(password, { memoryCost: 1024, timeCost: 1, parallelism: 1 })],
      )
    ).rows[0]?.id as string;
    await pool.query(
      "INSERT INTO role_grants (organisation_id, user_id, role, department_id) VALUES ($1, $2, 'operator', $3)",
      [org, user, dept],
    );
    await pool.query(
      `WITH r AS (
         INSERT INTO recipients (organisation_id, department_id, first_name, last_name, legal_basis)
         SELECT $1, $2, 'R' || i, 'Bench', 'consent' FROM generate_series(1, $3::int) i RETURNING id)
       INSERT INTO devices (organisation_id, department_id, serial, recipient_id)
       SELECT $1, $2, 'AB' || replace(id::text, '-', ''), id FROM r`,
      [org, dept, ALARM_PHASES * ALARMS + LOAD_DEVICES],
    );
    const serials = (
      await pool.query<{ serial: string }>(
        "SELECT serial FROM devices WHERE organisation_id = $1 ORDER BY serial",
        [org],
      )
    ).rows.map((r) => r.serial);
    const alarmSerials = serials.slice(0, ALARM_PHASES * ALARMS);
    const loadSerials = serials.slice(ALARM_PHASES * ALARMS);

    const service = { username: "bench", password: "bench-service-password" };
    let brokerUrl: string;
    if (BROKER === "aedes") {
      const broker = await startEmbeddedBroker({
        pool,
        port: await freePort(),
        host: "127.0.0.1",
        logger,
        serviceCredentials: [service],
      });
      stops.push(() => broker.close());
      brokerUrl = broker.url;
    } else {
      const files = await generateMosquittoFiles(pool, [service]);
      const broker = await startMosquitto({ passwd: files.passwd, acl: files.acl });
      stops.push(() => broker.stop());
      brokerUrl = broker.url;
    }
    const protocolVersion = BROKER === "aedes" ? 4 : 5;
    // Ingest in a process of its own, as docker-compose runs it: an alarm then waits on ingest's
    // event loop and the API's, never on one loop that carries both.
    const ingestPort = await freePort();
    const ingestProc = spawn(process.execPath, ["--import", "tsx", ingestMain], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        MQTT_URL: brokerUrl,
        MQTT_USERNAME: service.username,
        MQTT_PASSWORD: service.password,
        MQTT_PROTOCOL_VERSION: String(protocolVersion),
        INGEST_CLIENT_ID: "bench-ingest",
        INGEST_SHARED_SUBSCRIPTION: "false",
        INGEST_HTTP_PORT: String(ingestPort),
        INGEST_HTTP_HOST: "127.0.0.1",
        INGEST_METRICS: "false",
        LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const ingestExited = new Promise<void>((resolve) => ingestProc.once("exit", () => resolve()));
    stops.push(async () => {
      ingestProc.kill("SIGTERM");
      await ingestExited;
    });
    await waitHealthy(`http://127.0.0.1:${ingestPort}/healthz`, ingestExited);
    const commands = mqttDeviceCommands({ mqttUrl: brokerUrl, transactionsLog: pool, ...service, logger });
    stops.push(() => commands.close());
    const api = await startApiServer({
      pool,
      logger,
      clock: { now: () => new Date() },
      config: {
        PUBLIC_URL: "http://localhost:3000",
        SESSION_IDLE_MINUTES: 60,
        SESSION_ABSOLUTE_HOURS: 12,
        PSEUDONYM_KEY: "bench-pseudonym-key-0123456789abcdef",
        NODE_ENV: "production",
      },
      deviceCommands: commands.publisher,
      port: 0,
      host: "127.0.0.1",
    });
    stops.push(() => api.close());
    const login = await fetch(`${api.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://localhost:3000" },
      body: JSON.stringify({ email, password }),
    });
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const socket = connect(api.url, {
      path: "/socket.io",
      transports: ["websocket"],
      extraHeaders: { cookie },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    stops.push(async () => socket.close());
    const arrivals = new Map<string, number>();
    const alarmOf = new Map<string, string>();
    socket.on("alarm:new", (a) => {
      arrivals.set(a.device.serial, performance.now());
      alarmOf.set(a.device.serial, a.id);
    });
    // When each alarm's commit was announced (NOTIFY), to split publish -> socket at the commit.
    const notified = new Map<string, number>();
    /** Every platform event the API heard, by kind: what else its event loop handles beside alarms. */
    const eventsByKind = new Map<string, number>();
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    listener.on("notification", (n) => {
      const at = performance.now();
      const e = JSON.parse(n.payload ?? "{}");
      if (e.kind === "alarm.raised") notified.set(e.alarmId, at);
      eventsByKind.set(e.kind, (eventsByKind.get(e.kind) ?? 0) + 1);
    });
    await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
    stops.push(() => listener.end());
    await sleep(500); // rooms joined

    const publisher = await mqtt.connectAsync(brokerUrl, {
      ...service,
      protocolVersion,
      clientId: "bench-pub",
    });
    const floorSub = await mqtt.connectAsync(brokerUrl, {
      ...service,
      protocolVersion,
      clientId: "bench-floor",
    });
    stops.push(() => publisher.endAsync(true));
    stops.push(() => floorSub.endAsync(true));
    const floorArrivals = new Map<string, number>();
    await floorSub.subscribeAsync("bench/floor/#", { qos: 1 });
    floorSub.on("message", (topic) => floorArrivals.set(topic, performance.now()));

    /** Publish -> commit (NOTIFY) and NOTIFY -> socket.io of the alarms of the last `alarms` call. */
    let split = { start: [] as number[], commit: [] as number[], fanOut: [] as number[] };
    /** Publishes `count` alarms (one device each) every `gapMs`; the time until each reaches the socket. */
    async function alarms(devices: string[], gapMs: number): Promise<number[]> {
      const sent = new Map<string, number>();
      for (const serial of devices) {
        const t = Date.now();
        sent.set(serial, performance.now());
        publisher.publish(
          `vakt/v1/d/${serial}/up/alarm`,
          JSON.stringify({ v: 1, id: `a-${t}`, t, type: "sos", fix: { t, lat: 59.9, lon: 10.7 } }),
          { qos: 1 },
        );
        await sleep(gapMs);
      }
      const deadline = Date.now() + 60_000;
      while ([...sent.keys()].some((s) => !arrivals.has(s)) && Date.now() < deadline) await sleep(20);
      const missing = [...sent.keys()].filter((s) => !arrivals.has(s)).length;
      if (missing > 0) console.log(`  (${missing} alarms did not arrive within 60 s)`);
      split = { start: [], commit: [], fanOut: [] };
      // When ingest's statement began (alarms.received_at is its transaction's now()), on the same clock.
      const began = new Map(
        (
          await pool.query<{ id: string; at: number }>(
            "SELECT id, extract(epoch FROM received_at) * 1000 AS at FROM alarms WHERE id = ANY($1::uuid[])",
            [[...alarmOf.values()]],
          )
        ).rows.map((r) => [r.id, Number(r.at) - performance.timeOrigin]),
      );
      for (const [serial, t0] of sent) {
        const n = notified.get(alarmOf.get(serial) ?? "");
        const a = arrivals.get(serial);
        if (n === undefined || a === undefined) continue;
        const b = began.get(alarmOf.get(serial) ?? "");
        if (b !== undefined) split.start.push(b - t0);
        split.commit.push(n - t0);
        split.fanOut.push(a - n);
      }
      return [...sent].flatMap(([s, t0]) => (arrivals.has(s) ? [(arrivals.get(s) as number) - t0] : []));
    }
    async function floor(count: number, gapMs: number): Promise<number[]> {
      const sent = new Map<string, number>();
      for (let i = 0; i < count; i++) {
        const topic = `bench/floor/${Date.now()}-${i}`;
        sent.set(topic, performance.now());
        publisher.publish(topic, "x", { qos: 1 });
        await sleep(gapMs);
      }
      const deadline = Date.now() + 30_000;
      while ([...sent.keys()].some((s) => !floorArrivals.has(s)) && Date.now() < deadline) await sleep(10);
      return [...sent].flatMap(([s, t0]) =>
        floorArrivals.has(s) ? [(floorArrivals.get(s) as number) - t0] : [],
      );
    }

    console.log(
      `Node ${process.version}; broker: ${BROKER === "aedes" ? "embedded aedes (in this process)" : "Mosquitto (shipped config)"}; ingest in its own process; API and socket client in this process`,
    );
    const stats = (xs: number[]) => ({
      n: xs.length,
      p50: percentile(xs, 0.5),
      p95: percentile(xs, 0.95),
      p99: percentile(xs, 0.99),
    });
    const idleStart = Date.now();
    const floorIdle = await floor(ALARMS, 50);
    summary("bare MQTT publish -> subscriber, idle", floorIdle);
    const alarmIdle = await alarms(alarmSerials.slice(0, ALARMS), 100);
    summary("alarm publish -> socket.io alarm:new, idle", alarmIdle);
    const splitIdle = split;
    summary("  of which publish -> ingest's statement begins", splitIdle.start);
    summary("  of which publish -> commit (NOTIFY)", splitIdle.commit);
    summary("  of which NOTIFY -> socket.io", splitIdle.fanOut);
    const idleEnd = Date.now();

    const load = spawn(process.execPath, ["--import", "tsx", join(benchDir, "load-publisher.ts")], {
      env: {
        ...process.env,
        MQTT_URL: brokerUrl,
        MQTT_USERNAME: service.username,
        MQTT_PASSWORD: service.password,
        SERIALS: loadSerials.join(","),
        RATE: String(LOAD_RATE),
        FIXES: String(LOAD_FIXES),
        PROTOCOL: String(protocolVersion),
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let published = 0;
    load.stdout.on("data", (b: Buffer) => {
      const last = b.toString().trim().split("\n").at(-1);
      if (last) published = Number(last);
    });
    const publishedNow = async () => {
      // The load process reports every 100 ms; take the next report.
      const before = published;
      const deadline = Date.now() + 1_000;
      while (published === before && Date.now() < deadline) await sleep(5);
      return { n: published, at: performance.now() };
    };
    stops.push(async () => load.kill("SIGKILL"));
    const loadStartEpoch = Date.now();
    await sleep(3_000);
    // The measured window: from here (load running for 3 s) to the last alarm.
    const windowStart = await publishedNow();
    const eventsAtStart = new Map(eventsByKind);
    const storedAtStart = Number(
      (await pool.query("SELECT count(*) AS n FROM positions WHERE organisation_id = $1", [org])).rows[0].n,
    );
    const floorLoad = await floor(ALARMS, 50);
    summary(`bare MQTT publish -> subscriber, ${LOAD_RATE}/s load`, floorLoad);
    const alarmLoad = await alarms(alarmSerials.slice(ALARMS, 2 * ALARMS), 100);
    summary(`alarm publish -> alarm:new, ${LOAD_RATE} positions/s`, alarmLoad);
    const splitLoad = split;
    summary("  of which publish -> ingest's statement begins", splitLoad.start);
    summary("  of which publish -> commit (NOTIFY)", splitLoad.commit);
    summary("  of which NOTIFY -> socket.io", splitLoad.fanOut);
    const windowEnd = await publishedNow();
    const seconds = (windowEnd.at - windowStart.at) / 1000;
    const after = Number(
      (await pool.query("SELECT count(*) AS n FROM positions WHERE organisation_id = $1", [org])).rows[0].n,
    );
    const loadRate = (windowEnd.n - windowStart.n) / seconds;
    const storedRate = (after - storedAtStart) / seconds;
    console.log(
      `background load: ${loadRate.toFixed(0)} positions/s published (${LOAD_FIXES} per message), ` +
        `${storedRate.toFixed(0)} positions/s stored, over the ${seconds.toFixed(1)} s measured`,
    );
    const eventRates = [...eventsByKind].map(
      ([kind, n]) => `${kind} ${((n - (eventsAtStart.get(kind) ?? 0)) / seconds).toFixed(1)}/s`,
    );
    console.log(`platform events the API heard under load: ${eventRates.join(", ") || "none"}`);

    // The same under load with the machine busy: one spinning process per core beside everything
    // (another program on the host, a backup, a runaway job), at the same scheduling priority. First
    // as another program runs: each loop in a session of its own (setsid), so with the kernel's
    // autogroup (on here) each is a scheduling group of its own, as another container or service is
    // a cgroup of its own. Then the harsher case: the loops inside the lab's own session, where each
    // of their threads competes with each of the lab's one by one.
    const cores = availableParallelism();
    const busy = async (ownSession: boolean, devices: string[]) => {
      const spinners = Array.from({ length: cores }, () =>
        spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore", detached: ownSession }),
      );
      stops.push(async () => {
        for (const s of spinners) s.kill("SIGKILL");
      });
      const label = `load + ${cores} busy loops${ownSession ? " (own sessions)" : " (lab's session)"}`;
      await sleep(2_000);
      const windowStart = await publishedNow();
      const floorMs = await floor(ALARMS, 50);
      summary(`bare MQTT publish -> subscriber, ${label}`, floorMs);
      const alarmMs = await alarms(devices, 100);
      summary(`alarm publish -> alarm:new, ${label}`, alarmMs);
      const phaseSplit = split;
      summary("  of which publish -> ingest's statement begins", phaseSplit.start);
      summary("  of which publish -> commit (NOTIFY)", phaseSplit.commit);
      summary("  of which NOTIFY -> socket.io", phaseSplit.fanOut);
      const windowEnd = await publishedNow();
      for (const s of spinners) s.kill("SIGKILL");
      const rate = (windowEnd.n - windowStart.n) / ((windowEnd.at - windowStart.at) / 1000);
      console.log(`background load with the busy loops: ${rate.toFixed(0)} positions/s published`);
      await sleep(2_000); // the loops gone before the next phase
      return { floorMs, alarmMs, split: phaseSplit, rate };
    };
    const busyOwn = await busy(true, alarmSerials.slice(2 * ALARMS, 3 * ALARMS));
    const busyShared = await busy(false, alarmSerials.slice(3 * ALARMS, 4 * ALARMS));
    load.kill("SIGKILL");
    if (process.env.BENCH_RESULTS_FILE) {
      const record = {
        bench: "alarm",
        floorIdleMs: stats(floorIdle),
        alarmIdleMs: stats(alarmIdle),
        floorLoadMs: stats(floorLoad),
        alarmLoadMs: stats(alarmLoad),
        startIdleMs: stats(splitIdle.start),
        commitIdleMs: stats(splitIdle.commit),
        fanOutIdleMs: stats(splitIdle.fanOut),
        startLoadMs: stats(splitLoad.start),
        commitLoadMs: stats(splitLoad.commit),
        fanOutLoadMs: stats(splitLoad.fanOut),
        busyLoops: cores,
        floorBusyMs: stats(busyOwn.floorMs),
        alarmBusyMs: stats(busyOwn.alarmMs),
        startBusyMs: stats(busyOwn.split.start),
        commitBusyMs: stats(busyOwn.split.commit),
        fanOutBusyMs: stats(busyOwn.split.fanOut),
        busyLoadPositionsPerS: busyOwn.rate,
        floorBusySharedMs: stats(busyShared.floorMs),
        alarmBusySharedMs: stats(busyShared.alarmMs),
        startBusySharedMs: stats(busyShared.split.start),
        commitBusySharedMs: stats(busyShared.split.commit),
        fanOutBusySharedMs: stats(busyShared.split.fanOut),
        busySharedLoadPositionsPerS: busyShared.rate,
        broker: BROKER,
        loadPositionsPerS: loadRate,
        storedPositionsPerS: storedRate,
        phases: [
          { name: "idle", start: idleStart, end: idleEnd },
          { name: "under_load", start: loadStartEpoch, end: Date.now() },
        ],
      };
      await appendFile(process.env.BENCH_RESULTS_FILE, `${JSON.stringify(record)}\n`);
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await db.drop();
    await stopServer();
  }
}

await main();
process.exit(0);
