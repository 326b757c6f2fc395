// size: one registry's metric declarations, a flat list read (and grepped) by metric name
/** Prometheus metrics of one ingest instance, on its own registry (tests run several side by side). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type IngestMetrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "vakt_ingest_" });
  return {
    registry,
    messagesIn: new Counter({
      name: "vakt_ingest_messages_total",
      help: "Uplink messages received, by transport and kind (position, status, alarm, invalid)",
      labelNames: ["transport", "kind"] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: "vakt_ingest_dead_letters_total",
      help: "Messages stored as dead letters, by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    positionsStored: new Counter({
      name: "vakt_ingest_positions_stored_total",
      help: "Position rows newly inserted (redeliveries not counted)",
      registers: [registry],
    }),
    alarmsRaised: new Counter({
      name: "vakt_ingest_device_alarms_total",
      help: "Device alarms stored for the first time",
      registers: [registry],
    }),
    owntracksIgnored: new Counter({
      name: "vakt_ingest_owntracks_ignored_total",
      help: "OwnTracks messages Vakt takes and ignores: subtopics it does not use (step, beacon, dump, waypoints, info, ...) and stale retained last wills, by subtopic",
      labelNames: ["subtopic"] as const,
      registers: [registry],
    }),
    brokerPresence: new Counter({
      name: "vakt_ingest_broker_presence_total",
      help: "Device connections and drops the broker reported (its connection log), by what they changed: online, offline, unchanged (the row already said so, or no such MQTT device)",
      labelNames: ["change"] as const,
      registers: [registry],
    }),
    platformAlarms: new Counter({
      name: "vakt_ingest_platform_alarms_total",
      help: "Alarms derived by the platform, by type and transition (raised, cleared)",
      labelNames: ["type", "transition"] as const,
      registers: [registry],
    }),
    batchRows: new Histogram({
      name: "vakt_ingest_batch_rows",
      help: "Rows per committed batch",
      buckets: [1, 10, 50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 50_000],
      registers: [registry],
    }),
    batchBytes: new Histogram({
      name: "vakt_ingest_batch_bytes",
      help: "What arrived, carried into each committed batch (raw-log text, dead letters' kept bytes)",
      buckets: [1_024, 16_384, 131_072, 1_048_576, 4_194_304, 8_388_608, 16_777_216, 67_108_864],
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: "vakt_ingest_commit_seconds",
      help: "Time from batch start to commit",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    batchFailures: new Counter({
      name: "vakt_ingest_batch_failures_total",
      help: "Batches that failed to commit and were retried",
      registers: [registry],
    }),
    pendingMessages: new Gauge({
      name: "vakt_ingest_pending_messages",
      help: "Messages received from the broker but not yet committed and acknowledged (consumer lag)",
      registers: [registry],
    }),
    laneStalled: new Gauge({
      name: "vakt_ingest_lane_stalled",
      help: "1 while a writer lane has had work waiting without a commit for longer than the bound",
      labelNames: ["lane"] as const,
      registers: [registry],
    }),
    laneWaitSeconds: new Gauge({
      name: "vakt_ingest_lane_wait_seconds",
      help: "How long a stalled writer lane has waited without a commit (0 when it is not stalled)",
      labelNames: ["lane"] as const,
      registers: [registry],
    }),
    redeliveriesRefused: new Counter({
      name: "vakt_ingest_redelivery_limit_total",
      help: "Messages the broker redelivered more than INGEST_MAX_REDELIVERIES times, kept as dead letters",
      registers: [registry],
    }),
    alarmLaneUp: new Gauge({
      name: "vakt_ingest_alarm_lane_up",
      help: "1 while the alarm lane is up: its worker thread runs and reports (INGEST_ALARM_LANE=worker), or, inline, ingest has started",
      registers: [registry],
    }),
    alarmLaneRestarts: new Counter({
      name: "vakt_ingest_alarm_lane_restarts_total",
      help: "Alarm lane worker threads started again after one exited or went silent, by why (exited, silent)",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    lagSeconds: new Gauge({
      name: "vakt_ingest_lag_seconds",
      help: "Age of the oldest message received but not yet committed",
      registers: [registry],
    }),
  };
}
