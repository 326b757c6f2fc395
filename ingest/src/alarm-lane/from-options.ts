/** The alarm lane's worker thread as createIngest's options describe it (alarmLane "worker"). */
import type pg from "pg";
import type { Logger } from "pino";
import type { CreateIngestOptions, IngestConfig } from "../ingest";
import type { IngestMetrics } from "../metrics";
import { AlarmLaneHost } from "./host";

/** A pool's connection string (createPool and pg.Pool keep it in their options), if it was made from one. */
export function poolUrl(pool: pg.Pool): string | undefined {
  return (pool as unknown as { options: { connectionString?: string } }).options.connectionString;
}

/** The alarm lane's worker thread, configured as this thread's alarm session and writer would be. */
export function alarmLaneOf(
  {
    options,
    config,
    logger,
    metrics,
  }: { options: CreateIngestOptions; config: IngestConfig; logger: Logger; metrics: IngestMetrics },
  subscriptions: string[],
): AlarmLaneHost {
  const databaseUrl = typeof options.databaseUrl === "string" ? options.databaseUrl : poolUrl(options.pool);
  if (!databaseUrl)
    throw new Error('alarmLane "worker" needs databaseUrl (or a pool made from a connection string)');
  const timing = options.alarmLaneTiming ?? {};
  return new AlarmLaneHost({
    logger,
    metrics,
    ...(timing.backoff ? { backoff: timing.backoff } : {}),
    ...(timing.silentAfterMs !== undefined ? { silentAfterMs: timing.silentAfterMs } : {}),
    config: {
      databaseUrl,
      listen: options.databaseUrl !== false,
      mqtt: {
        url: options.mqttUrl,
        clientId: config.INGEST_CLIENT_ID,
        ...(options.mqttUsername !== undefined ? { username: options.mqttUsername } : {}),
        ...(options.mqttPassword !== undefined ? { password: options.mqttPassword } : {}),
        subscriptions,
        protocolVersion: options.protocolVersion ?? 5,
      },
      maxPayloadBytes: config.INGEST_MAX_PAYLOAD_BYTES,
      batchMaxRows: config.INGEST_BATCH_MAX_ROWS,
      batchMaxWaitMs: config.INGEST_BATCH_MAX_WAIT_MS,
      ...(options.maxRedeliveries !== undefined ? { maxRedeliveries: options.maxRedeliveries } : {}),
      stallAfterMs: options.stallAfterMs ?? 10_000,
      ...(options.useCopy !== undefined ? { useCopy: options.useCopy } : {}),
      logLevel: logger.level,
      heartbeatMs: timing.heartbeatMs ?? 1_000,
    },
  });
}
