/**
 * Ingest benchmark: `npm run bench -w @vakt/ingest`. Prints figures; asserts nothing.
 *
 * One run, same machine, same rows:
 *   1. bare broker: publishers -> Mosquitto (shipped config) -> a plain QoS 1 subscriber
 *   2. raw COPY of the same position rows into PostgreSQL (median of three)
 *   3. ingest, one fix per message: publishers -> Mosquitto -> ingest -> PostgreSQL
 *   4. ingest, ten fixes per message
 *   5. alarm publish-to-commit latency (NOTIFY arrival) while (3) runs
 *
 * Environment: BENCH_DATABASE_URL (a server to create a scratch database on;
 * default: an embedded PostgreSQL), BENCH_MESSAGES (default 100000),
 * BENCH_DEVICES (default 1000), BENCH_CONNECTIONS (default 8), and to compare
 * batching: BENCH_LANES (writer lanes, default 4), INGEST_BATCH_MAX_ROWS and INGEST_BATCH_MAX_WAIT_MS. With
 * BENCH_RESULTS_FILE set, the figures are also appended to that file as one
 * JSON line (`npm run bench` at the root collects them into bench-results/). BENCH_CPU_PROFILE:
 * see startProfile.
 */
import { appendFile, writeFile } from "node:fs/promises";
import { Session } from "node:inspector";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { EVENTS_CHANNEL, uplinkTopic } from "@vakt/schemas";
import { percentiles } from "@vakt/schemas/stats";
import mqtt from "mqtt";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import pino from "pino";
import { createIngest } from "../src/ingest";
import { runPublisher, startBenchLab } from "./lab";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const BATCHED_MESSAGES = Math.round(MESSAGES / 5);
const logger = pino({ level: process.env.LOG_LEVEL ?? "warn" });

/** Wall-clock phases (epoch ms) so the root orchestrator can attribute sampled CPU to them. */
const phases: {
  name: string;
  start: number;
  end: number;
  benchCpuS: number;
  writes?: DatabaseWrites;
}[] = [];

/**
 * What PostgreSQL wrote (all backends): WAL bytes, records and full-page images (pg_stat_wal), and
 * relation pages written and extended (pg_stat_io, PostgreSQL 16 and later; null before). Read
 * before and after each phase, so that a figure per stored position stands beside raw COPY's: where
 * PostgreSQL's CPU per position beyond the floor goes is mostly what it writes.
 */
interface DatabaseWrites {
  walBytes: number;
  walRecords: number;
  walFpi: number;
  pagesWritten: number | null;
  pagesExtended: number | null;
}
let readWrites: (() => Promise<DatabaseWrites>) | undefined;
/** Backends publish their statistics at most once a second, and within a second of going idle. */
const STATS_SETTLE_MS = 1_500;
const minus = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
/**
 * The window a rate was measured over (first publish to last stored), when a phase sets it: the
 * CPU per role is then sampled over the same window, so per-core figures divide like by like.
 */
let measured: { start: number; end: number } | undefined;
async function phase<T>(name: string, run: () => Promise<T>): Promise<T> {
  const before = await readWrites?.();
  const start = Date.now();
  const cpu0 = process.cpuUsage();
  measured = undefined;
  const profiling = await startProfile(name);
  try {
    return await run();
  } finally {
    await profiling?.();
    const cpu = process.cpuUsage(cpu0);
    const window = measured ?? { start, end: Date.now() };
    await new Promise((r) => setTimeout(r, STATS_SETTLE_MS));
    const after = await readWrites?.();
    const writes: DatabaseWrites | undefined =
      before && after
        ? {
            walBytes: after.walBytes - before.walBytes,
            walRecords: after.walRecords - before.walRecords,
            walFpi: after.walFpi - before.walFpi,
            pagesWritten: minus(after.pagesWritten, before.pagesWritten),
            pagesExtended: minus(after.pagesExtended, before.pagesExtended),
          }
        : undefined;
    phases.push({ name, ...window, benchCpuS: (cpu.user + cpu.system) / 1e6, ...(writes ? { writes } : {}) });
  }
}
const results: Record<string, unknown> = { bench: "ingest" };

/**
 * BENCH_CPU_PROFILE=<dir>[:<phase>,...]: a V8 CPU profile of this process for each phase named (default
 * ingest_1fix), written as <dir>/<phase>.cpuprofile, to see where ingest's CPU per position goes.
 */
async function startProfile(name: string): Promise<(() => Promise<void>) | undefined> {
  const [dir, names = "ingest_1fix"] = (process.env.BENCH_CPU_PROFILE ?? "").split(":");
  if (!dir || !names.split(",").includes(name)) return undefined;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params ?? {}, (err, r) => (err ? reject(err) : resolve(r))),
    );
  await post("Profiler.enable");
  await post("Profiler.start");
  return async () => {
    const { profile } = (await post("Profiler.stop")) as { profile: unknown };
    await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const line = (label: string, value: string) => console.log(`${label.padEnd(44)} ${value}`);

async function main() {
  const lab = await startBenchLab();
  const { db, pool, broker, service } = lab;
  const hasStatIo =
    (await pool.query("SELECT to_regclass('pg_catalog.pg_stat_io') IS NOT NULL AS has")).rows[0]?.has ===
    true;
  readWrites = async () => {
    const io = hasStatIo
      ? `(SELECT sum(writes) FROM pg_stat_io WHERE object = 'relation')::float8 AS w,
         (SELECT sum(extends) FROM pg_stat_io WHERE object = 'relation')::float8 AS e`
      : "NULL::float8 AS w, NULL::float8 AS e";
    const r = await pool.query<{ b: number; r: number; f: number; w: number | null; e: number | null }>(
      `SELECT wal_bytes::float8 AS b, wal_records::float8 AS r, wal_fpi::float8 AS f, ${io} FROM pg_stat_wal`,
    );
    const row = r.rows[0];
    return {
      walBytes: row?.b ?? 0,
      walRecords: row?.r ?? 0,
      walFpi: row?.f ?? 0,
      pagesWritten: row?.w ?? null,
      pagesExtended: row?.e ?? null,
    };
  };
  const caps = await pool.query<{ ts: boolean; v: string }>(
    "SELECT vakt_has_timescaledb() AS ts, current_setting('server_version') AS v",
  );
  console.log(
    `ingest benchmark: ${fmt(MESSAGES)} messages, ${DEVICES} devices, ${CONNECTIONS} publisher connections, ` +
      `PostgreSQL ${caps.rows[0]?.v}${caps.rows[0]?.ts ? " + TimescaleDB" : ""}, Mosquitto (shipped config)`,
  );

  const org = await pool.query<{ id: string }>(
    "INSERT INTO organisations (name, slug) VALUES ('Bench', 'bench') RETURNING id",
  );
  const orgId = org.rows[0]?.id as string;
  const dept = await pool.query<{ id: string }>(
    `INSERT INTO departments (id, organisation_id, name, ancestry)
     SELECT g, $1, 'Bench', ARRAY[g] FROM gen_random_uuid() g RETURNING id`,
    [orgId],
  );
  const deptId = dept.rows[0]?.id as string;
  const makeDevices = async (prefix: string) => {
    const r = await pool.query<{ id: string; serial: string }>(
      `INSERT INTO devices (organisation_id, department_id, serial)
       SELECT $1, $2, $3 || g FROM generate_series(1, $4) g RETURNING id, serial`,
      [orgId, deptId, prefix, DEVICES],
    );
    return r.rows;
  };
  const setSingle = await makeDevices("single-");
  const setBatched = await makeDevices("batch-");
  const setCopy = await makeDevices("copy-");
  const alarmDevice = (await makeDevices("alarm-")).slice(0, 1)[0] as { id: string; serial: string };
  const base = Date.now() - 3 * 86_400_000;

  const publish = (serials: string[], messages: number, fixes: number, tag: string) =>
    runPublisher(lab, { serials, messages, fixes, base, tag, connections: CONNECTIONS });
  const loss = { sent: 0, acked: 0, failed: 0, stored: 0, expected: 0 };
  const count = (r: { sent: number; acked: number; failed: number }, fixes: number) => {
    loss.sent += r.sent;
    loss.acked += r.acked;
    loss.failed += r.failed;
    loss.expected += r.acked * fixes;
  };

  // 1. Bare broker to a plain QoS 1 subscriber.
  await phase("bare_broker", async () => {
    const sub = await mqtt.connectAsync(broker.url, {
      ...service,
      protocolVersion: 5,
      clientId: "bench-plain",
      clean: true,
      properties: { receiveMaximum: 10_000 },
    });
    let received = 0;
    let done: () => void = () => {};
    const all = new Promise<void>((r) => {
      done = r;
    });
    let lastArrival = 0;
    sub.on("message", () => {
      if (++received === MESSAGES) {
        lastArrival = Date.now();
        done();
      }
    });
    await sub.subscribeAsync("vakt/v1/d/+/up/+", { qos: 1 });
    const sent = await publish(
      setCopy.map((d) => d.serial),
      MESSAGES,
      1,
      "bare",
    );
    await all;
    // From the first publish (the publisher process's start-up left out) to the last arrival.
    const seconds = (lastArrival - sent.startedAt) / 1000;
    measured = { start: sent.startedAt, end: lastArrival };
    await sub.endAsync();
    bareRate = MESSAGES / seconds;
    results.bareBrokerMsgPerS = bareRate;
    line("bare broker (publish -> plain subscriber)", `${fmt(bareRate)} msg/s (${seconds.toFixed(2)} s)`);
  });

  // 2. Raw COPY of the same rows: three times (fresh fix times each), the median, since one COPY
  // takes well under a second and a single one moves with whatever else the machine is doing.
  await phase("raw_copy", async () => {
    const client = await pool.connect();
    const rounds = Math.ceil(MESSAGES / DEVICES);
    const rates: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const t0 = performance.now();
      const stream = client.query(
        copyFrom(
          "COPY positions (time, device_id, organisation_id, message_id, lat, lon, accuracy_m, source, battery_percent) FROM STDIN",
        ),
      );
      async function* rows() {
        const chunk: string[] = [];
        for (let n = 0; n < MESSAGES; n++) {
          const d = setCopy[n % DEVICES] as { id: string };
          const k = rep * rounds + Math.floor(n / DEVICES);
          const t = new Date(base + k * 1_000).toISOString();
          chunk.push(`${t}\t${d.id}\t${orgId}\tm${n}\t59.9\t10.7\t8\tgps\t80\n`);
          if (chunk.length === 5_000) yield chunk.splice(0).join("");
        }
        if (chunk.length) yield chunk.join("");
      }
      await pipeline(rows, stream);
      rates.push(MESSAGES / ((performance.now() - t0) / 1000));
      rowsStored.raw_copy = (rowsStored.raw_copy ?? 0) + MESSAGES;
    }
    client.release();
    rates.sort((x, y) => x - y);
    copyRate = rates[1] as number;
    results.rawCopyRowsPerS = copyRate;
    results.rawCopyRunsRowsPerS = rates;
    line("raw COPY into positions (median of 3)", `${fmt(copyRate)} rows/s (${rates.map(fmt).join(", ")})`);
  });

  const ingest = createIngest({
    pool,
    databaseUrl: db.url,
    mqttUrl: broker.url,
    mqttUsername: service.username,
    mqttPassword: service.password,
    logger,
    config: {
      INGEST_CLIENT_ID: "bench-ingest",
      INGEST_SHARE_GROUP: "bench",
      // To compare batching settings in one figure (CPU per position against the floor).
      ...(process.env.INGEST_BATCH_MAX_ROWS
        ? { INGEST_BATCH_MAX_ROWS: Number(process.env.INGEST_BATCH_MAX_ROWS) }
        : {}),
      ...(process.env.INGEST_BATCH_MAX_WAIT_MS
        ? { INGEST_BATCH_MAX_WAIT_MS: Number(process.env.INGEST_BATCH_MAX_WAIT_MS) }
        : {}),
    },
    ...(process.env.BENCH_LANES ? { maxConcurrentBatches: Number(process.env.BENCH_LANES) } : {}),
    ...(process.env.BENCH_RECEIVE_MAXIMUM
      ? { mqttReceiveMaximum: Number(process.env.BENCH_RECEIVE_MAXIMUM) }
      : {}),
    http: false,
    supervise: false,
  });
  await ingest.start();
  const stored = async (deviceSet: { id: string }[]) => {
    const r = await pool.query<{ n: string }>(
      "SELECT count(*) n FROM positions WHERE device_id = ANY($1::uuid[])",
      [deviceSet.map((d) => d.id)],
    );
    return Number(r.rows[0]?.n);
  };
  /** Waits (polling the counter every 5 ms) until `expected` more positions are stored; when that was (epoch ms). */
  const waitStoredAt = async (expected: number) => {
    while (((await ingest.metrics.positionsStored.get()).values[0]?.value ?? 0) < expected + storedBefore) {
      await new Promise((r) => setTimeout(r, 5));
    }
    storedBefore += expected;
    return Date.now();
  };
  let storedBefore = 0;

  // 3. Ingest, one fix per message, with alarms on the side.
  await phase("ingest_1fix", async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    const alarmIdToMessage = new Map<string, string>();
    listener.on("notification", async (n) => {
      const arrived = performance.now();
      const e = JSON.parse(n.payload ?? "{}");
      if (e.kind !== "alarm.raised") return;
      alarmIdToMessage.set(e.alarmId, String(arrived));
    });
    const alarmPub = await mqtt.connectAsync(broker.url, { ...service, protocolVersion: 5 });
    let alarmsSent = 0;
    let loadDone = false;
    const alarmLoop = (async () => {
      while (!loadDone) {
        const id = `al${alarmsSent++}`;
        sentAt.set(id, performance.now());
        await alarmPub.publishAsync(
          uplinkTopic(alarmDevice.serial, "alarm"),
          JSON.stringify({ v: 1, id, t: Date.now() - 1_000, type: "sos" }),
          { qos: 1 },
        );
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const sent = await publish(
      setSingle.map((d) => d.serial),
      MESSAGES,
      1,
      "s",
    );
    count(sent, 1);
    const published = sent.seconds;
    const storedAt = await waitStoredAt(sent.acked);
    const n = await stored(setSingle);
    rowsStored.ingest_1fix = n;
    loss.stored += n;
    const seconds = (storedAt - sent.startedAt) / 1000;
    measured = { start: sent.startedAt, end: storedAt };
    loadDone = true;
    await alarmLoop;
    // Match NOTIFY arrivals to publishes through the stored alarms.
    while (alarmIdToMessage.size < alarmsSent) await new Promise((r) => setTimeout(r, 20));
    const rows = await pool.query<{ id: string; device_message_id: string }>(
      "SELECT id, device_message_id FROM alarms WHERE device_id = $1",
      [alarmDevice.id],
    );
    for (const r of rows.rows) {
      const arrived = Number(alarmIdToMessage.get(r.id));
      const sent = sentAt.get(r.device_message_id);
      if (sent !== undefined && Number.isFinite(arrived)) latencies.push(arrived - sent);
    }
    await alarmPub.endAsync();
    await listener.end();
    const rate = n / seconds;
    line(
      "ingest, 1 fix/message: positions stored",
      `${fmt(rate)} /s (${fmt(n)} rows in ${seconds.toFixed(2)} s)`,
    );
    line("  publishers done after", `${published.toFixed(2)} s`);
    line("  ratio to bare broker", `${(rate / bareRate).toFixed(2)} (aim 0.7)`);
    line("  ratio to raw COPY", `${(rate / copyRate).toFixed(2)}`);
    const lat = percentiles(latencies);
    results.ingest1FixPositionsPerS = rate;
    results.alarmCommitUnderLoadMs = lat;
    line(
      "  alarm publish -> commit (NOTIFY), under load",
      `p50 ${lat.p50.toFixed(1)} ms, p95 ${lat.p95.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms (${lat.n} alarms)`,
    );
  });

  // 4. Ingest, ten fixes per message.
  await phase("ingest_10fix", async () => {
    const sent = await publish(
      setBatched.map((d) => d.serial),
      BATCHED_MESSAGES,
      10,
      "b",
    );
    count(sent, 10);
    const storedAt = await waitStoredAt(sent.acked * 10);
    const n = await stored(setBatched);
    rowsStored.ingest_10fix = n;
    loss.stored += n;
    const seconds = (storedAt - sent.startedAt) / 1000;
    measured = { start: sent.startedAt, end: storedAt };
    const rate = n / seconds;
    line(
      "ingest, 10 fixes/message: positions stored",
      `${fmt(rate)} /s (${fmt(n)} rows in ${seconds.toFixed(2)} s, ${fmt(BATCHED_MESSAGES / seconds)} msg/s)`,
    );
    line("  ratio to raw COPY", `${(rate / copyRate).toFixed(2)} (aim 0.3)`);
    results.ingest10FixPositionsPerS = rate;
  });

  // 5. Alarm latency with no other load.
  await phase("alarm_idle", async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
    const pub = await mqtt.connectAsync(broker.url, { ...service, protocolVersion: 5 });
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) {
      const arrived = new Promise<number>((resolve) =>
        listener.once("notification", () => resolve(performance.now())),
      );
      const sent = performance.now();
      await pub.publishAsync(
        uplinkTopic(alarmDevice.serial, "alarm"),
        JSON.stringify({ v: 1, id: `idle${i}`, t: Date.now() - 1_000, type: "sos" }),
        { qos: 1 },
      );
      latencies.push((await arrived) - sent);
    }
    await pub.endAsync();
    await listener.end();
    const lat = percentiles(latencies);
    results.alarmCommitIdleMs = lat;
    line(
      "alarm publish -> commit (NOTIFY), idle",
      `p50 ${lat.p50.toFixed(1)} ms, p95 ${lat.p95.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms (50 alarms)`,
    );
  });

  const batches = await ingest.metrics.batchRows.get();
  const sum = batches.values.find((v) => v.metricName === "vakt_ingest_batch_rows_sum")?.value ?? 0;
  const cnt = batches.values.find((v) => v.metricName === "vakt_ingest_batch_rows_count")?.value ?? 1;
  line("mean rows per batch", `${(sum / cnt).toFixed(0)} over ${fmt(cnt)} batches`);
  const writesPerPosition: Record<string, Record<string, number | null>> = {};
  for (const p of phases) {
    const rows = rowsStored[p.name];
    if (!p.writes || !rows) continue;
    const per = (v: number | null) => (v === null ? null : v / rows);
    const w = {
      walBytes: p.writes.walBytes / rows,
      walRecords: p.writes.walRecords / rows,
      walFpi: p.writes.walFpi / rows,
      pagesWritten: per(p.writes.pagesWritten),
      pagesExtended: per(p.writes.pagesExtended),
    };
    writesPerPosition[p.name] = w;
    line(
      `PostgreSQL wrote per position, ${p.name}`,
      `${fmt(w.walBytes)} B of WAL in ${w.walRecords.toFixed(2)} records` +
        (w.pagesWritten === null ? "" : `, ${(w.pagesWritten * 8192).toFixed(0)} B of pages written`),
    );
  }
  results.writesPerPosition = writesPerPosition;
  const dead = await pool.query<{ reason: string; n: number }>(
    "SELECT reason, count(*)::int AS n FROM dead_letters GROUP BY reason",
  );
  const deadLetters = dead.rows.reduce((a, r) => a + r.n, 0);
  line(
    "loss: sent / PUBACKed / stored (of expected)",
    `${fmt(loss.sent)} / ${fmt(loss.acked)} / ${fmt(loss.stored)} (${fmt(loss.expected)}), ${deadLetters} dead letters`,
  );
  Object.assign(results, {
    postgres: `${caps.rows[0]?.v}${caps.rows[0]?.ts ? " + TimescaleDB" : ""}`,
    messages: MESSAGES,
    devices: DEVICES,
    meanBatchRows: sum / cnt,
    loss: { ...loss, lost: loss.expected - loss.stored },
    deadLetters,
    deadLettersByReason: Object.fromEntries(dead.rows.map((r) => [r.reason, r.n])),
    phases,
  });
  if (process.env.BENCH_RESULTS_FILE) {
    await appendFile(process.env.BENCH_RESULTS_FILE, `${JSON.stringify(results)}\n`);
  }

  await ingest.stop();
  await lab.stop();
}

/** Rows each phase stored (raw COPY: all three of its runs), for the writes per position. */
const rowsStored: Record<string, number> = {};
let bareRate = 0;
let copyRate = 0;
const started = performance.now();
await main();
console.log(`(run took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
