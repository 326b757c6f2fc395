/**
 * The alarm lane's worker thread (INGEST_ALARM_LANE=worker; started by host.ts): the alarm session
 * (`<INGEST_CLIENT_ID>-alarms`) and the same decide -> commit -> "received" ack -> PUBACK path the
 * main thread runs inline (Pipeline, BatchWriter, commitDeviceAlarm and its follow-ups), on an event
 * loop of its own. The main thread's loop is busy with positions under load (parsing, COPY text,
 * batch bookkeeping), and an alarm arriving there waited behind that work; here it waits for nothing
 * but its own commit. Connections of its own: two for alarm commits, two for the rest (device
 * look-ups, redelivery counts, dead letters, an alarm's aftermath), and the directory's LISTEN.
 *
 * It reports a heartbeat (session, backlog, stalled lanes) and its metrics to the host every
 * `heartbeatMs`; at "drain" it stops taking alarms, commits and PUBACKs what it accepted,
 * disconnects and says "drained".
 */
import { parentPort } from "node:worker_threads";
import { createPool } from "@vakt/storage";
import pino from "pino";
import { Counter, Gauge, Histogram } from "prom-client";
import { createMetrics, type IngestMetrics } from "../metrics";
import type { MqttConsumer } from "../mqtt/consumer";
import { alarmSession, tellDevices } from "../mqtt/sessions";
import { DeviceDirectory } from "../pipeline/device-directory";
import { Pipeline } from "../pipeline/pipeline";
import { BatchWriter } from "../pipeline/writer";
import { type FromWorker, type MetricsReport, type StartConfig, toWorker } from "./protocol";

/** The worker's lanes in health and metrics: apart from the main thread's (which has an alarm lane too). */
export const WORKER_LANE_PREFIX = "alarm-lane:";

/** Gauges whose series the worker owns alone (its lanes'); the main thread's other gauges are its own. */
const FORWARDED_GAUGES = new Set(["vakt_ingest_lane_stalled", "vakt_ingest_lane_wait_seconds"]);

/** How long the alarm lane's directory keeps an entry; it warms every half of that. */
const ALARM_DIRECTORY_TTL_MS = 10 * 60_000;

/** Observations of one histogram series kept for one report at most (an alarm lane makes a few a second). */
const MAX_OBSERVATIONS = 10_000;

type Labels = Record<string, string | number>;

const port = parentPort;
if (!port) throw new Error("alarm-lane/worker.ts runs as a worker thread (alarm-lane/host.ts starts it)");

const post = (m: FromWorker) => port.postMessage(m);

interface RunningLane {
  drain(graceMs: number): Promise<number>;
}

let starting: Promise<RunningLane | undefined> | undefined;
let draining = false;

port.on("message", (raw: unknown) => {
  const parsed = toWorker.safeParse(raw);
  if (!parsed.success) {
    post({
      type: "error",
      fatal: false,
      message: `unreadable message from the host: ${parsed.error.message}`,
    });
    return;
  }
  const m = parsed.data;
  if (m.type === "start") {
    if (starting) return;
    starting = run(m).catch((err: unknown) => {
      const code = (err as { code?: unknown }).code;
      post({
        type: "error",
        fatal: true,
        message: err instanceof Error ? err.message : String(err),
        ...(code !== undefined ? { code: String(code) } : {}),
      });
      // The host ends this thread when it reads a fatal error (a message posted before exiting may be lost).
      return undefined;
    });
  } else if (m.type === "drain") {
    if (draining) return;
    draining = true;
    void drain(m.graceMs);
  } else {
    // Test hook (host.hangForTest): the loop stops turning; only the host's heartbeat check sees it.
    for (;;) {}
  }
});

async function drain(graceMs: number): Promise<void> {
  const lane = await starting;
  const abandoned = lane ? await lane.drain(graceMs) : 0;
  post({ type: "drained", abandoned });
}

async function run(c: StartConfig): Promise<RunningLane> {
  const logger = pino({ level: c.logLevel, base: { service: "ingest", thread: "alarm-lane" } });
  const pool = createPool(c.databaseUrl, { max: 2, applicationName: "vakt-ingest-alarm-lane" });
  const alarmPool = createPool(c.databaseUrl, { max: 2, applicationName: "vakt-ingest-alarm-lane" });
  const metrics = createMetrics();
  const report = metricsReporter(metrics);
  // Warm and long-lived (LISTEN forgets a changed serial at once, and a reconnect warms it again):
  // an alarm from a device not heard from within a minute would otherwise wait for a look-up.
  const directory = new DeviceDirectory(pool, { ttlMs: ALARM_DIRECTORY_TTL_MS });
  let session: MqttConsumer | undefined;
  const writer = new BatchWriter({
    pool,
    alarmPool,
    logger,
    metrics,
    maxRows: c.batchMaxRows,
    maxWaitMs: c.batchMaxWaitMs,
    // Alarms commit in their own lane at once; this one lane takes what is not an alarm (dead letters).
    maxConcurrent: 1,
    afterCommit: (alarms) => tellDevices(alarms, session, Date.now, logger, pool),
    stallAfterMs: c.stallAfterMs,
    laneNamePrefix: WORKER_LANE_PREFIX,
    ...(c.useCopy !== undefined ? { useCopy: c.useCopy } : {}),
  });
  const pipeline = new Pipeline({
    directory,
    writer,
    metrics,
    logger,
    maxPayloadBytes: c.maxPayloadBytes,
    now: Date.now,
    pool,
    ...(c.maxRedeliveries !== undefined ? { maxRedeliveries: c.maxRedeliveries } : {}),
  });
  // Beats from the start: a worker waiting for the broker is alive, not hung.
  const heartbeat = () =>
    post({
      type: "heartbeat",
      connected: session?.connected ?? false,
      backlog: writer.backlog + pipeline.resolvingCount,
      stalled: writer.stalled(),
    });
  heartbeat();
  const beat = setInterval(() => {
    heartbeat();
    void report().then(post, (err: unknown) => logger.warn({ err }, "alarm lane metrics not reported"));
  }, c.heartbeatMs);
  if (c.listen) await directory.listen(logger, c.databaseUrl);
  // Not awaited: a restarted lane takes alarms at once (a device look-up meanwhile is what it was
  // before the warm-up), rather than after a whole fleet's devices are read.
  void directory.keepWarm(logger, ALARM_DIRECTORY_TTL_MS / 2);
  session = alarmSession({
    url: c.mqtt.url,
    clientId: c.mqtt.clientId,
    ...(c.mqtt.username !== undefined ? { username: c.mqtt.username } : {}),
    ...(c.mqtt.password !== undefined ? { password: c.mqtt.password } : {}),
    subscriptions: c.mqtt.subscriptions,
    protocolVersion: c.mqtt.protocolVersion,
    logger,
    pipeline,
  });
  await session.start();
  post({ type: "ready" });
  return {
    async drain(graceMs) {
      session?.pause();
      await pipeline.stop();
      const { abandoned } = await writer.drain(graceMs);
      clearInterval(beat);
      await session?.stop();
      await directory.close();
      post(await report());
      await Promise.all([pool.end(), alarmPool.end()]);
      return abandoned;
    },
  };
}

/**
 * What changed in this thread's metrics since the last report: counters by difference, histograms
 * by their observations (recorded as they are made), the worker's lane gauges by value.
 */
function metricsReporter(metrics: IngestMetrics): () => Promise<MetricsReport> {
  const observed = new Map<string, { name: string; labels: Labels; values: number[] }>();
  for (const m of metrics.registry.getMetricsAsArray()) {
    if (!(m instanceof Histogram)) continue;
    const name = (m as unknown as { name: string }).name;
    const h = m as unknown as { observe: (a: unknown, b?: unknown) => void };
    const observe = h.observe.bind(m);
    h.observe = (a, b) => {
      const [labels, value] = typeof a === "number" ? [{}, a] : [a as Labels, b as number];
      const key = `${name}${JSON.stringify(labels)}`;
      let series = observed.get(key);
      if (!series) {
        series = { name, labels, values: [] };
        observed.set(key, series);
      }
      if (series.values.length < MAX_OBSERVATIONS) series.values.push(value);
      observe(a, b);
    };
  }
  const sent = new Map<string, number>();
  return async () => {
    const counters: MetricsReport["counters"] = [];
    const gauges: MetricsReport["gauges"] = [];
    for (const m of metrics.registry.getMetricsAsArray()) {
      if (m instanceof Counter) {
        const got = await m.get();
        for (const v of got.values) {
          const labels = v.labels as Labels;
          const key = `${got.name}${JSON.stringify(labels)}`;
          const inc = v.value - (sent.get(key) ?? 0);
          if (inc <= 0) continue;
          sent.set(key, v.value);
          counters.push({ name: got.name, labels, inc });
        }
      } else if (m instanceof Gauge) {
        const got = await m.get();
        if (!FORWARDED_GAUGES.has(got.name)) continue;
        for (const v of got.values)
          gauges.push({ name: got.name, labels: v.labels as Labels, value: v.value });
      }
    }
    const observations = [...observed.values()].filter((s) => s.values.length > 0);
    observed.clear();
    return { type: "metrics", counters, observations, gauges };
  };
}
