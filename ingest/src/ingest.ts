/**
 * The ingest service: MQTT consumer -> decisions -> batched, idempotent
 * commits -> PUBACK, plus the HTTP side (health, metrics, OsmAnd).
 */
import { type Downlink, downlinks, type IngestEnv } from "@vakt/schemas";
import type pg from "pg";
import type { Logger } from "pino";
import { startMetricsServer } from "./http/metrics-server";
import { osmandAuthenticator } from "./http/osmand-auth";
import { startIngestHttp } from "./http/server";
import { createMetrics, type IngestMetrics } from "./metrics";
import { MqttConsumer } from "./mqtt/consumer";
import { mainSessionHandler, presenceFollower, sessionSubscriptions } from "./mqtt/sessions";
import { DeviceDirectory } from "./pipeline/device-directory";
import { Pipeline } from "./pipeline/pipeline";
import type { AlarmOutcome } from "./pipeline/store";
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
  INGEST_BATCH_MAX_ROWS: 2_000,
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
  /** Writer lanes with work and no commit for longer than the bound (health shows them). */
  stalled(): StalledLane[];
}

export function createIngest(options: CreateIngestOptions): Ingest {
  const config: IngestConfig = { ...defaultIngestConfig, ...options.config };
  const logger = options.logger;
  const now = options.now ?? Date.now;
  const metrics = options.metrics ?? createMetrics();
  const directory = new DeviceDirectory(options.pool, { now });
  const lanes = options.maxConcurrentBatches ?? 4;
  let consumer: MqttConsumer | undefined;
  let alarmConsumer: MqttConsumer | undefined;
  const writer = new BatchWriter({
    pool: options.pool,
    ...(options.alarmPool ? { alarmPool: options.alarmPool } : {}),
    logger,
    metrics,
    maxRows: config.INGEST_BATCH_MAX_ROWS,
    maxWaitMs: config.INGEST_BATCH_MAX_WAIT_MS,
    maxConcurrent: lanes,
    afterCommit: (alarms) => tellDevices(alarms, alarmConsumer ?? consumer, now, logger),
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

  const { main: subscriptions, alarms: alarmSubscriptions } = sessionSubscriptions({
    shared: options.sharedSubscription ?? true,
    group: config.INGEST_SHARE_GROUP,
    owntracks: options.owntracks ?? true,
    brokerPresence: options.brokerPresence ?? true,
  });
  const presence = presenceFollower({
    pool: options.pool,
    metrics,
    logger,
    now,
    changed: (deviceId) => writer.forgetDevice(deviceId),
  });

  const supervisor = new Supervisor({
    pool: options.pool,
    logger,
    metrics,
    now,
    ...(options.superviseIntervalMs !== undefined ? { intervalMs: options.superviseIntervalMs } : {}),
    ...(options.lastWillGraceMs !== undefined
      ? { conditions: { lastWillGraceMs: options.lastWillGraceMs } }
      : {}),
  });

  /** Writer lanes, and the device look-ups in front of them, waiting without progress. */
  const stalled = (): StalledLane[] => {
    const out = writer.stalled();
    const lookupS = pipeline.lookupWaitS(options.stallAfterMs ?? 10_000);
    if (lookupS !== undefined) {
      out.push({ lane: "device-lookup", waitingS: lookupS, messages: pipeline.resolvingCount });
    }
    return out;
  };

  let http: { port: number; close(): Promise<void> } | undefined;
  let metricsServer: { port: number; close(): Promise<void> } | undefined;
  const wantHttp = options.http ?? config.INGEST_HTTP_PORT !== undefined;

  return {
    metrics,
    directory,
    supervisor,
    get httpPort() {
      return http?.port;
    },
    get metricsPort() {
      return metricsServer?.port;
    },
    backlog: () => writer.backlog + pipeline.resolvingCount,
    stalled,
    async start() {
      const databaseUrl =
        options.databaseUrl === false
          ? undefined
          : (options.databaseUrl ??
            (options.pool as unknown as { options: { connectionString?: string } }).options.connectionString);
      if (databaseUrl) await directory.listen(logger, databaseUrl);
      if (options.metricsAddress)
        metricsServer = await startMetricsServer(metrics, { ...options.metricsAddress, logger });
      if (wantHttp) {
        http = await startIngestHttp({
          port: config.INGEST_HTTP_PORT ?? 0,
          host: config.INGEST_HTTP_HOST ?? "127.0.0.1",
          logger,
          metrics,
          pipeline,
          authenticate: osmandAuthenticator(options.pool),
          refusalsPerMinute: config.INGEST_HTTP_REFUSALS_PER_MINUTE ?? 30,
          rateLimitPool: options.pool,
          health: () => ({
            mqtt: (consumer?.connected ?? false) && (alarmConsumer?.connected ?? false),
            backlog: writer.backlog,
            stalled: stalled(),
          }),
        });
      }
      consumer = new MqttConsumer({
        url: options.mqttUrl,
        clientId: config.INGEST_CLIENT_ID,
        ...(options.mqttUsername !== undefined ? { username: options.mqttUsername } : {}),
        ...(options.mqttPassword !== undefined ? { password: options.mqttPassword } : {}),
        subscriptions,
        protocolVersion: options.protocolVersion ?? 5,
        receiveMaximum: Math.min(
          65_535,
          options.mqttReceiveMaximum ?? 2 * lanes * config.INGEST_BATCH_MAX_ROWS,
        ),
        logger,
        onMessage: mainSessionHandler({
          pipeline,
          metrics,
          maxPayloadBytes: config.INGEST_MAX_PAYLOAD_BYTES,
          onBrokerLog: presence.onLine,
        }),
      });
      alarmConsumer = new MqttConsumer({
        url: options.mqttUrl,
        clientId: `${config.INGEST_CLIENT_ID}-alarms`,
        ...(options.mqttUsername !== undefined ? { username: options.mqttUsername } : {}),
        ...(options.mqttPassword !== undefined ? { password: options.mqttPassword } : {}),
        subscriptions: alarmSubscriptions,
        protocolVersion: options.protocolVersion ?? 5,
        receiveMaximum: 1_000,
        logger: logger.child({ session: "alarms" }),
        onMessage: (topic, payload, ack, redelivered) => {
          pipeline.accept(topic, payload, "mqtt", ack, redelivered);
        },
      });
      await alarmConsumer.start();
      await consumer.start();
      if (options.supervise ?? true) supervisor.start();
      logger.info({ subscriptions, clientId: config.INGEST_CLIENT_ID }, "ingest started");
    },
    async stop() {
      await supervisor.stop();
      await presence.settled();
      consumer?.pause();
      alarmConsumer?.pause();
      await pipeline.stop();
      await writer.drain(options.drainGraceMs ?? 10_000);
      await consumer?.stop();
      await alarmConsumer?.stop();
      await http?.close();
      await metricsServer?.close();
      await directory.close();
      logger.info("ingest stopped");
    },
  };
}

/** Tells each device its alarm was stored (the "received" ack), on the alarm session when it is up. */
function tellDevices(
  alarms: AlarmOutcome[],
  via: MqttConsumer | undefined,
  now: () => number,
  logger: Logger,
) {
  for (const a of alarms) {
    // A throw here would fail the committed batch: a message the contract refuses is logged instead.
    let ack: Downlink;
    try {
      ack = downlinks.ack(a.device.serial, {
        v: 1,
        ackOf: a.messageId,
        status: a.ackStatus,
        alarmId: a.alarmId,
        at: now(),
      });
    } catch (err) {
      logger.error({ err, alarmId: a.alarmId }, "alarm acknowledgement refused by the downlink contract");
      continue;
    }
    via?.publish(ack);
  }
}
