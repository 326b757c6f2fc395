/**
 * Ingest drain benchmark (a tool for tuning, not part of `npm run bench`): a backlog of
 * BENCH_MESSAGES position messages is queued in Mosquitto for ingest's persistent session while
 * ingest is away; then ingest starts and the time to store all of them is measured, with the CPU
 * that the ingest process and PostgreSQL spent. With no publishers competing for the cores, this
 * is the capacity of ingest + PostgreSQL alone. Prints figures; asserts nothing.
 *
 * Environment: BENCH_DATABASE_URL (else an embedded PostgreSQL), BENCH_MESSAGES (default 50000),
 * BENCH_FIXES (default 1), BENCH_DEVICES (default 1000), BENCH_RUNS (default 1), and ingest
 * options: BENCH_BATCH_ROWS, BENCH_BATCH_WAIT_MS, BENCH_CONCURRENCY, BENCH_RECEIVE_MAXIMUM.
 */
import { readdir, readFile } from "node:fs/promises";
import { ingestSubscription } from "@vakt/schemas";
import mqtt from "mqtt";
import pino from "pino";
import { createIngest } from "../src/ingest";
import { runPublisher, startBenchLab } from "./lab";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 50_000);
const FIXES = Number(process.env.BENCH_FIXES ?? 1);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const env = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
const logger = pino({ level: process.env.LOG_LEVEL ?? "warn" });
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** CPU ticks (1/100 s) of every process whose command line matches, summed. */
async function cpuTicks(match: RegExp): Promise<number> {
  let sum = 0;
  for (const d of await readdir("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = (await readFile(`/proc/${d}/cmdline`, "utf8")).replaceAll("\0", " ");
      if (!match.test(cmd)) continue;
      const stat = await readFile(`/proc/${d}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      sum += Number(rest[11]) + Number(rest[12]);
    } catch {
      // gone
    }
  }
  return sum;
}

const lab = await startBenchLab();
const { db, pool, broker, service } = lab;
const orgId = (
  await pool.query<{ id: string }>("INSERT INTO organisations (name, slug) VALUES ('B', 'b') RETURNING id")
).rows[0]?.id as string;
const deptId = (
  await pool.query<{ id: string }>(
    `INSERT INTO departments (id, organisation_id, name, ancestry)
     SELECT g, $1, 'B', ARRAY[g] FROM gen_random_uuid() g RETURNING id`,
    [orgId],
  )
).rows[0]?.id as string;
const base = Date.now() - 2 * 86_400_000;
const clientId = "drain-ingest";

for (let run = 0; run < RUNS; run++) {
  const serials = (
    await pool.query<{ serial: string }>(
      `INSERT INTO devices (organisation_id, department_id, serial)
       SELECT $1, $2, $3 || g FROM generate_series(1, $4) g RETURNING serial`,
      [orgId, deptId, `r${run}-`, DEVICES],
    )
  ).rows.map((r) => r.serial);
  // Ingest's sessions exist (subscribed) but are away while the backlog is published.
  for (const [id, filter] of [
    [clientId, ingestSubscription("x").replace(/^\$share\/[^/]+\//, "")],
    [`${clientId}-alarms`, "vakt/v1/d/+/up/alarm"],
  ] as const) {
    const c = await mqtt.connectAsync(broker.url, {
      ...service,
      clientId: id,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 3600 },
    });
    await c.subscribeAsync(filter, { qos: 1 });
    await c.endAsync();
  }
  await runPublisher(lab, {
    serials,
    messages: MESSAGES,
    fixes: FIXES,
    base: base + run * 10_000_000,
    tag: `d${run}-`,
  });

  const ingest = createIngest({
    pool,
    databaseUrl: db.url,
    mqttUrl: broker.url,
    mqttUsername: service.username,
    mqttPassword: service.password,
    logger,
    config: {
      INGEST_CLIENT_ID: clientId,
      ...(env("BENCH_BATCH_ROWS") ? { INGEST_BATCH_MAX_ROWS: env("BENCH_BATCH_ROWS") } : {}),
      ...(env("BENCH_BATCH_WAIT_MS") ? { INGEST_BATCH_MAX_WAIT_MS: env("BENCH_BATCH_WAIT_MS") } : {}),
    },
    sharedSubscription: false,
    ...(env("BENCH_RECEIVE_MAXIMUM") ? { mqttReceiveMaximum: env("BENCH_RECEIVE_MAXIMUM") } : {}),
    ...(env("BENCH_CONCURRENCY") ? { maxConcurrentBatches: env("BENCH_CONCURRENCY") } : {}),
    http: false,
    supervise: false,
  });
  const pg0 = await cpuTicks(/^postgres/);
  const mq0 = await cpuTicks(/mosquitto/);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await ingest.start();
  const expected = MESSAGES * FIXES;
  const stored0 = (await ingest.metrics.positionsStored.get()).values[0]?.value ?? 0;
  while (((await ingest.metrics.positionsStored.get()).values[0]?.value ?? 0) - stored0 < expected) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const pgCpu = ((await cpuTicks(/^postgres/)) - pg0) / 100;
  const mqCpu = ((await cpuTicks(/mosquitto/)) - mq0) / 100;
  const ingestCpu = (cpu.user + cpu.system) / 1e6;
  const batches = await ingest.metrics.batchRows.get();
  const sum = batches.values.find((v) => v.metricName === "vakt_ingest_batch_rows_sum")?.value ?? 0;
  const cnt = batches.values.find((v) => v.metricName === "vakt_ingest_batch_rows_count")?.value ?? 1;
  await ingest.stop();
  console.log(
    `drain ${FIXES} fix/msg: ${fmt(expected / seconds)} positions/s (${fmt(MESSAGES / seconds)} msg/s, ` +
      `${seconds.toFixed(2)} s); cores: ingest ${(ingestCpu / seconds).toFixed(2)}, postgres ` +
      `${(pgCpu / seconds).toFixed(2)}, mosquitto ${(mqCpu / seconds).toFixed(2)}; CPU µs/msg: ingest ` +
      `${((ingestCpu / MESSAGES) * 1e6).toFixed(0)}, postgres ${((pgCpu / MESSAGES) * 1e6).toFixed(0)}; ` +
      `mean batch ${(sum / cnt).toFixed(0)} rows over ${cnt} batches`,
  );
}
await lab.stop();
process.exit(0);
