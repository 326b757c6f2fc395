import type { Server } from "node:http";
import { type ServerType, serve } from "@hono/node-server";
import pg from "pg";
import { createCheckpointer, startCheckpointSchedule } from "./activity/chain";
import { type Alerting, type AlertingOptions, startAlerting } from "./alerting";
import { createApp } from "./app";
import { type Bus, createBus } from "./bus";
import type { ApiDeps } from "./deps";
import { attachLive, type Live, type LiveOptions } from "./live";
import { type MetricsServer, startMetricsServer } from "./metrics";

export interface RunningApi {
  url: string;
  /** The Node HTTP server, for socket.io to attach to. */
  server: Server;
  app: ReturnType<typeof createApp>;
  /** socket.io (live updates), unless started with `live: false`. */
  live: Live | undefined;
  /** Alarm claims, tracking and alert routing, unless started with `alerting: false`. */
  alerting: Alerting | undefined;
  /** Writes a signed checkpoint now (of one organisation, or of every one whose head moved). */
  checkpoint(organisationId?: string): Promise<import("./activity/chain").Checkpoint[]>;
  /** GET /metrics, on its own address, when started with `metrics` and `metricsAddress`. */
  metricsServer: MetricsServer | undefined;
  close(): Promise<void>;
}

type ServerOptions = ApiDeps & {
  port: number;
  host?: string;
  live?: LiveOptions | false;
  alerting?: AlertingOptions | false;
  /**
   * Time limits on incoming requests: headers (slow-loris defence; Node's default is 60 s) and
   * the whole request (Node's default 300 s), checked every `checkIntervalMs`.
   */
  http?: { headersTimeoutMs?: number; requestTimeoutMs?: number; checkIntervalMs?: number };
  /** Where `deps.metrics` is served (port 0 picks a free one); never the API's own port. */
  metricsAddress?: { port: number; host: string };
  /**
   * Connections of the alarm path's own pool beside `pool` (same database and role): alert
   * routing's claim and the live push of alarms (default 2, API_ALARM_POOL_SIZE); 0: `pool`.
   */
  alarmPoolSize?: number;
};

/**
 * The alarm path's own pool: `size` connections opened now and kept open, so an alarm neither
 * waits for a connection to be made nor queues behind device pushes, polls or requests on `pool`.
 */
async function alarmPoolBeside(pool: pg.Pool, size: number, log: ApiDeps["logger"]) {
  if (size <= 0) return undefined;
  const alarmPool = new pg.Pool({
    ...pool.options,
    max: size,
    min: size,
    idleTimeoutMillis: 0,
    // Its statements are named (planned once per connection): their generic plan from the start.
    options: `${pool.options.options ?? ""} -c plan_cache_mode=force_generic_plan`.trim(),
    application_name: `${pool.options.application_name ?? "vakt"}-alarms`,
  });
  alarmPool.on("error", (err) => log.warn({ err }, "idle alarm-pool connection failed"));
  try {
    const clients = await Promise.all(Array.from({ length: size }, () => alarmPool.connect()));
    for (const c of clients) c.release();
  } catch (err) {
    await alarmPool.end().catch(() => {});
    throw err;
  }
  return alarmPool;
}

/** Listens on host:port; the URL to reach it and how to close it (dropping kept-alive connections). */
async function listen(app: ReturnType<typeof createApp>, deps: ServerOptions) {
  const host = deps.host ?? "0.0.0.0";
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: deps.port,
        hostname: host,
        serverOptions: {
          headersTimeout: deps.http?.headersTimeoutMs ?? 10_000,
          requestTimeout: deps.http?.requestTimeoutMs ?? 30_000,
          connectionsCheckingInterval: deps.http?.checkIntervalMs ?? 2_000,
        },
      },
      () => resolve(s),
    );
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : deps.port;
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const close = () =>
    new Promise<void>((resolve, reject) => {
      (server as Server).closeAllConnections?.();
      server.close((err) => (err ? reject(err) : resolve()));
    });
  return { server: server as Server, url: `http://${shownHost}:${port}`, close };
}

/** Signed checkpoints of every organisation's head, outside the database, at a fixed interval. */
function scheduleCheckpoints(deps: ApiDeps) {
  const al = deps.activityLog;
  const signer =
    al?.signingKey && al.sinks.length > 0
      ? createCheckpointer({
          db: deps.pool,
          key: al.signingKey,
          sinks: al.sinks,
          now: () => deps.clock.now(),
        })
      : undefined;
  if (!signer) return undefined;
  // The metrics' checkpoint age counts from the last run that completed (or from start).
  let checkpointedAt = Date.now();
  const checkpointer = {
    checkpoint: async (organisationId?: string) => {
      const written = await signer.checkpoint(organisationId);
      checkpointedAt = Date.now();
      return written;
    },
  };
  const schedule = startCheckpointSchedule(checkpointer, al?.intervalMs ?? 300_000, (err) => {
    deps.metrics?.checkpointFailures.inc();
    deps.logger.error({ err }, "activity-log checkpoint failed");
  });
  return {
    checkpoint: checkpointer.checkpoint,
    ageSeconds: () => (Date.now() - checkpointedAt) / 1000,
    stop: () => schedule.stop(),
  };
}

/** Connects the metrics to their sources and serves them on their own address; returns the unsubscribe. */
async function serveMetrics(
  deps: ServerOptions & { bus: Bus },
  live: Live | undefined,
  checkpoints: ReturnType<typeof scheduleCheckpoints>,
): Promise<{ metricsServer: MetricsServer | undefined; stopCounting: () => void }> {
  if (!deps.metrics) return { metricsServer: undefined, stopCounting: () => {} };
  const metrics = deps.metrics;
  const io = live?.io;
  metrics.observe({
    pool: deps.pool,
    sockets: () => io?.engine.clientsCount ?? 0,
    ...(checkpoints ? { checkpointAgeSeconds: checkpoints.ageSeconds } : {}),
  });
  const stopCounting = deps.bus.on("alarm:emitted", (e) => metrics.countAlarmEvent(e.change ?? "raised"));
  if (!deps.metricsAddress) return { metricsServer: undefined, stopCounting };
  try {
    const metricsServer = await startMetricsServer(metrics, deps.metricsAddress);
    deps.logger.info({ url: `${metricsServer.url}/metrics` }, "metrics listening");
    return { metricsServer, stopCounting };
  } catch (err) {
    stopCounting();
    throw err;
  }
}

/**
 * Serves createApp(deps) on host:port (port 0 picks a free one), with socket.io
 * live updates and alert routing (graphile-worker jobs) unless turned off.
 */
export async function startApiServer(deps: ServerOptions): Promise<RunningApi> {
  const bus = deps.bus ?? createBus();
  let live: Live | undefined;
  const withBus: ServerOptions & { bus: Bus } = {
    ...deps,
    bus,
    ...(deps.live === false ? {} : { health: { listener: () => live?.listening() ?? false } }),
  };
  const app = createApp(withBus);
  const http = await listen(app, deps);
  let alerting: Alerting | undefined;
  const checkpoints = scheduleCheckpoints(deps);
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let alarmPool: pg.Pool | undefined;
  try {
    alarmPool = await alarmPoolBeside(deps.pool, deps.alarmPoolSize ?? 2, deps.logger);
    const alarmDb = alarmPool ?? deps.pool;
    // A new alarm is pushed from routing's claim, so it carries its cancel window (one statement).
    const newAlarm = async (alarmId: string) => alerting?.routed(alarmId);
    live =
      deps.live === false
        ? undefined
        : await attachLive(http.server, withBus, { newAlarm, alarmDb, ...(deps.live ?? {}) });
    alerting =
      deps.alerting === false
        ? undefined
        : await startAlerting(withBus, {
            claimDb: alarmDb,
            ...(live ? { events: live.onEvent } : {}),
            ...(deps.alerting ?? {}),
          });
    metrics = await serveMetrics(withBus, live, checkpoints);
  } catch (err) {
    await checkpoints?.stop().catch(() => {});
    await alerting?.close().catch(() => {});
    await live?.close().catch(() => {});
    await http.close().catch(() => {});
    await alarmPool?.end().catch(() => {});
    throw err;
  }
  const { metricsServer, stopCounting } = metrics;
  return {
    url: http.url,
    server: http.server,
    app,
    live,
    alerting,
    checkpoint: (organisationId?: string) => checkpoints?.checkpoint(organisationId) ?? Promise.resolve([]),
    metricsServer,
    close: async () => {
      stopCounting();
      await checkpoints?.stop();
      await alerting?.close();
      await live?.close();
      await http.close();
      await metricsServer?.close();
      await alarmPool?.end();
    },
  };
}
