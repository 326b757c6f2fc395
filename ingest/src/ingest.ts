/**
 * The ingest service: MQTT consumer -> decisions -> batched, idempotent
 * commits -> PUBACK, plus the HTTP side (health, metrics, OsmAnd).
 */
import type { IngestEnv } from "@vakt/schemas";
import type pg from "pg";
import type { Logger } from "pino";
import { alarmLaneOf, poolUrl } from "./alarm-lane/from-options";
import type { AlarmLaneHost, DownPart } from "./alarm-lane/host";
import { startMetricsServer } from "./http/metrics-server";
import { osmandAuthenticator } from "./http/osmand-auth";
import { startIngestHttp } from "./http/server";
import { createMetrics, type IngestMetrics } from "./metrics";
import { MqttConsumer } from "./mqtt/consumer";
import { HELD_MAX_BYTES } from "./mqtt/held-bytes";
import {
  alarmSession,
  mainSessionHandler,
  presenceFollower,
  sessionSubscriptions,
  tellDevices,
} from "./mqtt/sessions";
import { DeviceDirectory } from "./pipeline/device-directory";
import { Pipeline } from "./pipeline/pipeline";
import { BatchWriter, type StalledLane } from "./pipeline/writer";
import { Supervisor } from "./supervisor/supervisor";

export type IngestConfig = Pick<
  IngestEnv,
  | "INGEST_CLIENT_ID"
  | "INGEST_SHARE_GROUP"
  | "INGEST_BATCH_MAX_ROWS"
  | "INGEST_BATCH_MAX_WAIT_MS"
  | "INGEST_MAX_PAYLOAD_BYTES"
> &
  Partial<Pick<IngestEnv, "INGEST_HTTP_PORT" | "INGEST_HTTP_HOST" | "INGEST_HTTP_REFUSALS_PER_MINUTE">>;

export const defaultIngestConfig: IngestConfig = {
  INGEST_CLIENT_ID: "vakt-ingest-1",
  INGEST_SHARE_GROUP: "vakt-ingest",
  INGEST_BATCH_MAX_ROWS: 5_000,
  INGEST_BATCH_MAX_WAIT_MS: 25,
  INGEST_MAX_PAYLOAD_BYTES: 65_536,
};

export interface CreateIngestOptions {
  pool: pg.Pool;
  /** The alarm lane's own connections (main.ts: two); default the pool. */
  alarmPool?: pg.Pool;
  mqttUrl: string;
  mqttUsername?: string;
  mqttPassword?: string;
  logger: Logger;
  config?: Partial<IngestConfig>;
  now?: () => number;
  /**
   * For the LISTEN that keeps the device cache fresh; defaults to the pool's connection string.
   * `false`: no LISTEN (entries then expire after their TTL), e.g. on a one-connection server.
   */
  databaseUrl?: string | false;
  /** 5 for Mosquitto (default); 4 for the embedded aedes broker, which speaks MQTT 3.1.1 only. */
  protocolVersion?: 4 | 5;
  /** Subscribe through `$share/<group>/...` (default true; aedes has no shared subscriptions). */
  sharedSubscription?: boolean;
  /** Also take OwnTracks messages (`owntracks/<user>/<device>`). Default true. */
  owntracks?: boolean;
  /** Follow the broker's connection log (`$SYS/broker/log/N`, see broker/presence.ts). Default true. */
  brokerPresence?: boolean;
  /** Serve /healthz and OsmAnd on INGEST_HTTP_PORT. Default: when the config names a port. */
  http?: boolean;
  /** Serve GET /metrics here (port 0: a free one); never on the OsmAnd port. Default: not served. */
  metricsAddress?: { port: number; host: string };
  /**
   * MQTT 5 receive-maximum of the main session: messages in flight to ingest before it acknowledges
   * (default 2 × maxConcurrentBatches × INGEST_BATCH_MAX_ROWS, at most 65,535). With acks held until
   * commit this window bounds what ingest can hold: it must cover every lane's committing batch and
   * the next one filling behind it, or the lanes wait for messages while the broker waits for acks.
   */
  mqttReceiveMaximum?: number;
  /** Payload bytes the main session lets ingest hold before it waits for room (default HELD_MAX_BYTES, 64 MiB). */
  maxHeldBytes?: number;
  /** COPY large batches through staging tables (default true); false: multi-row INSERTs only. */
  useCopy?: boolean;
  /** Writer lanes: concurrent batch commits, each lane one device's messages in order (default 4). */
  maxConcurrentBatches?: number;
  metrics?: IngestMetrics;
  /** Derive platform alarms (no contact, low battery, geofences, outdated position). Default true. */
  supervise?: boolean;
  /** Supervisor tick (default 30 s). */
  superviseIntervalMs?: number;
  /** A device gone away (last will) raises no_contact after this (default 2 minutes). */
  lastWillGraceMs?: number;
  /** How long stop() waits for the writer to commit what it holds before giving up on it (default 10 s). */
  drainGraceMs?: number;
  /** Work waiting this long without a commit marks its lane stalled, and health 503 (default 10 s). */
  stallAfterMs?: number;
  /** Deliveries of one message after which it is kept as a dead letter (default 5). */
  maxRedeliveries?: number;
  /**
   * Where the alarm session and its commits run: "inline" (default) on this thread's event loop, or
   * "worker", a worker thread of its own (alarm-lane/), so an alarm never waits behind the position
   * work on this loop (main.ts: INGEST_ALARM_LANE, default worker). The worker opens its own
   * connections from `databaseUrl` (or the pool's connection string).
   */
  alarmLane?: "inline" | "worker";
  /** The worker's heartbeat, when it counts as hung, and its restart pauses (defaults: 1 s, 10 s, 250 ms .. 10 s). */
  alarmLaneTiming?: {
    heartbeatMs?: number;
    silentAfterMs?: number;
    backoff?: { minMs: number; maxMs: number };
  };
}

export interface Ingest {
  start(): Promise<void>;
  /** Stops consuming, commits and acknowledges what was received, then disconnects. */
  stop(): Promise<void>;
  readonly metrics: IngestMetrics;
  readonly directory: DeviceDirectory;
  readonly supervisor: Supervisor;
  /** The HTTP port actually bound (when HTTP is on). */
  readonly httpPort: number | undefined;
  readonly metricsPort: number | undefined;
  /** Messages received and not yet acknowledged. */
  backlog(): number;
  /** The most the main session's payloads not yet acknowledged came to at once, against maxHeldBytes. */
  heldBytesPeak(): number;
  /** Writer lanes with work and no commit for longer than the bound (health shows them). */
  stalled(): StalledLane[];
  /** The alarm lane's worker thread (alarmLane "worker"), once started. */
  readonly alarmLane: AlarmLaneHost | undefined;
}

/** What every part of the service shares. */
interface Shared {
  options: CreateIngestOptions;
  config: IngestConfig;
  logger: Logger;
  now: () => number;
  metrics: IngestMetrics;
  /** Writer lanes (concurrent batch commits). */
  lanes: number;
}

/** The two MQTT sessions, once started: the main one, and the alarms' own (here, or in the worker thread). */
interface Sessions {
  main?: MqttConsumer;
  alarms?: MqttConsumer;
  lane?: AlarmLaneHost;
}

export function createIngest(options: CreateIngestOptions): Ingest {
  const config: IngestConfig = { ...defaultIngestConfig, ...options.config };
  const now = options.now ?? Date.now;
  const metrics = options.metrics ?? createMetrics();
  const shared: Shared = {
    options,
    config,
    logger: options.logger,
    now,
    metrics,
    lanes: options.maxConcurrentBatches ?? 4,
  };
  const directory = new DeviceDirectory(options.pool, { now });
  const sessions: Sessions = {};
  const { writer, pipeline } = writerAndPipeline(shared, directory, sessions);
  const subscriptions = sessionSubscriptions({
    shared: options.sharedSubscription ?? true,
    group: config.INGEST_SHARE_GROUP,
    owntracks: options.owntracks ?? true,
    brokerPresence: options.brokerPresence ?? true,
  });
  const presence = presenceFollower({
    pool: options.pool,
    metrics,
    logger: shared.logger,
    now,
    changed: (deviceId) => writer.forgetDevice(deviceId),
  });
  const supervisor = supervisorOf(shared);

  const { stalled, health } = healthOf(writer, pipeline, sessions, options.stallAfterMs ?? 10_000);

  let servers: Servers = {};
  return {
    metrics,
    directory,
    supervisor,
    get httpPort() {
      return servers.http?.port;
    },
    get metricsPort() {
      return servers.metrics?.port;
    },
    backlog: () => writer.backlog + pipeline.resolvingCount + (sessions.lane?.health().backlog ?? 0),
    heldBytesPeak: () => sessions.main?.heldBytesPeak ?? 0,
    stalled,
    get alarmLane() {
      return sessions.lane;
    },
    async start() {
      const databaseUrl = listenUrl(options);
      if (databaseUrl) await directory.listen(shared.logger, databaseUrl);
      servers = await startServers(shared, pipeline, health);
      await startSessions(shared, sessions, subscriptions, pipeline, presence.onLine);
      if (options.supervise ?? true) supervisor.start();
      shared.logger.info(
        { subscriptions: subscriptions.main, clientId: config.INGEST_CLIENT_ID },
        "ingest started",
      );
    },
    async stop() {
      await supervisor.stop();
      await presence.settled();
      sessions.main?.pause();
      sessions.alarms?.pause();
      const graceMs = options.drainGraceMs ?? 10_000;
      // The worker drains its alarms while this thread drains its batches.
      const laneStopped = sessions.lane?.stop(graceMs);
      await pipeline.stop();
      await writer.drain(graceMs);
      await laneStopped;
      await sessions.main?.stop();
      await sessions.alarms?.stop();
      await servers.http?.close();
      await servers.metrics?.close();
      await directory.close();
      shared.logger.info("ingest stopped");
    },
  };
}

/**
 * What health reports: the sessions' connections, the backlog, what waits without progress, and the
 * alarm lane's worker while it is not up.
 */
function healthOf(writer: BatchWriter, pipeline: Pipeline, sessions: Sessions, stallAfterMs: number) {
  /** Writer lanes (the worker's too), and the device look-ups in front of them, waiting without progress. */
  const stalled = (): StalledLane[] => {
    const out = writer.stalled();
    const lookupS = pipeline.lookupWaitS(stallAfterMs);
    if (lookupS !== undefined) {
      out.push({ lane: "device-lookup", waitingS: lookupS, messages: pipeline.resolvingCount });
    }
    if (sessions.lane) out.push(...sessions.lane.health().stalled);
    return out;
  };
  const health = (): IngestHealth => {
    const lane = sessions.lane?.health();
    const alarmsConnected = lane ? lane.connected : (sessions.alarms?.connected ?? false);
    return {
      mqtt: (sessions.main?.connected ?? false) && alarmsConnected,
      backlog: writer.backlog + (lane?.backlog ?? 0),
      stalled: stalled(),
      ...(lane?.down ? { down: [lane.down] } : {}),
    };
  };
  return { stalled, health };
}

type IngestHealth = { mqtt: boolean; backlog: number; stalled: StalledLane[]; down?: DownPart[] };

/** The batch writer (acks go out on the alarm session when it is up) and the pipeline feeding it. */
function writerAndPipeline(shared: Shared, directory: DeviceDirectory, sessions: Sessions) {
  const { options, config, logger, metrics, now } = shared;
  const writer = new BatchWriter({
    pool: options.pool,
    ...(options.alarmPool ? { alarmPool: options.alarmPool } : {}),
    logger,
    metrics,
    maxRows: config.INGEST_BATCH_MAX_ROWS,
    maxWaitMs: config.INGEST_BATCH_MAX_WAIT_MS,
    maxConcurrent: shared.lanes,
    afterCommit: (alarms) => tellDevices(alarms, sessions.alarms ?? sessions.main, now, logger, options.pool),
    now,
    ...(options.useCopy !== undefined ? { useCopy: options.useCopy } : {}),
    ...(options.stallAfterMs !== undefined ? { stallAfterMs: options.stallAfterMs } : {}),
  });
  const pipeline = new Pipeline({
    directory,
    writer,
    metrics,
    logger,
    maxPayloadBytes: config.INGEST_MAX_PAYLOAD_BYTES,
    now,
    pool: options.pool,
    ...(options.maxRedeliveries !== undefined ? { maxRedeliveries: options.maxRedeliveries } : {}),
  });
  return { writer, pipeline };
}

function supervisorOf({ options, logger, metrics, now }: Shared): Supervisor {
  return new Supervisor({
    pool: options.pool,
    logger,
    metrics,
    now,
    ...(options.superviseIntervalMs !== undefined ? { intervalMs: options.superviseIntervalMs } : {}),
    ...(options.lastWillGraceMs !== undefined
      ? { conditions: { lastWillGraceMs: options.lastWillGraceMs } }
      : {}),
  });
}

/** Where the device cache LISTENs: the option, else the pool's connection string; none when `false`. */
function listenUrl(options: CreateIngestOptions): string | undefined {
  return options.databaseUrl === false ? undefined : (options.databaseUrl ?? poolUrl(options.pool));
}

interface Servers {
  http?: { port: number; close(): Promise<void> };
  metrics?: { port: number; close(): Promise<void> };
}

/** The metrics server (when given an address) and the HTTP side (health, OsmAnd), when wanted. */
async function startServers(
  { options, config, logger, metrics }: Shared,
  pipeline: Pipeline,
  health: () => IngestHealth,
): Promise<Servers> {
  const servers: Servers = {};
  if (options.metricsAddress)
    servers.metrics = await startMetricsServer(metrics, { ...options.metricsAddress, logger });
  if (options.http ?? config.INGEST_HTTP_PORT !== undefined) {
    servers.http = await startIngestHttp({
      port: config.INGEST_HTTP_PORT ?? 0,
      host: config.INGEST_HTTP_HOST ?? "127.0.0.1",
      logger,
      metrics,
      pipeline,
      authenticate: osmandAuthenticator(options.pool),
      refusalsPerMinute: config.INGEST_HTTP_REFUSALS_PER_MINUTE ?? 30,
      rateLimitPool: options.pool,
      health,
    });
  }
  return servers;
}

/** Connects the alarm session (here or in its worker), then the main one (its receive window sized for the writer lanes). */
async function startSessions(
  shared: Shared,
  sessions: Sessions,
  subscriptions: ReturnType<typeof sessionSubscriptions>,
  pipeline: Pipeline,
  onBrokerLog: ReturnType<typeof presenceFollower>["onLine"],
) {
  const { options, config, logger, metrics, lanes } = shared;
  const credentials = {
    ...(options.mqttUsername !== undefined ? { username: options.mqttUsername } : {}),
    ...(options.mqttPassword !== undefined ? { password: options.mqttPassword } : {}),
  };
  sessions.main = new MqttConsumer({
    url: options.mqttUrl,
    clientId: config.INGEST_CLIENT_ID,
    ...credentials,
    subscriptions: subscriptions.main,
    protocolVersion: options.protocolVersion ?? 5,
    receiveMaximum: Math.min(65_535, options.mqttReceiveMaximum ?? 2 * lanes * config.INGEST_BATCH_MAX_ROWS),
    // The main session only: alarms are never held behind positions.
    maxHeldBytes: options.maxHeldBytes ?? HELD_MAX_BYTES,
    logger,
    onMessage: mainSessionHandler({
      pipeline,
      metrics,
      maxPayloadBytes: config.INGEST_MAX_PAYLOAD_BYTES,
      onBrokerLog,
    }),
  });
  if (options.alarmLane === "worker") {
    sessions.lane = alarmLaneOf(shared, subscriptions.alarms);
    await sessions.lane.start();
  } else {
    sessions.alarms = alarmSession({
      url: options.mqttUrl,
      clientId: config.INGEST_CLIENT_ID,
      ...credentials,
      subscriptions: subscriptions.alarms,
      protocolVersion: options.protocolVersion ?? 5,
      logger,
      pipeline,
    });
    await sessions.alarms.start();
    // Inline the lane is this thread, up while ingest runs (the gauge then says nothing of a worker).
    metrics.alarmLaneUp.set(1);
  }
  await sessions.main.start();
}
