import type { Server } from "node:http";
import { type ServerType, serve } from "@hono/node-server";
import { createCheckpointer, startCheckpointSchedule } from "./activity-chain";
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
  checkpoint(organisationId?: string): Promise<import("./activity-chain").Checkpoint[]>;
  /** GET /metrics, on its own address, when started with `metrics` and `metricsAddress`. */
  metricsServer: MetricsServer | undefined;
  close(): Promise<void>;
}

/**
 * Serves createApp(deps) on host:port (port 0 picks a free one), with socket.io
 * live updates and alert routing (graphile-worker jobs) unless turned off.
 */
export async function startApiServer(
  deps: ApiDeps & {
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
  },
): Promise<RunningApi> {
  const bus = deps.bus ?? createBus();
  let live: Live | undefined;
  const withBus: ApiDeps & { bus: Bus } = {
    ...deps,
    bus,
    ...(deps.live === false ? {} : { health: { listener: () => live?.listening() ?? false } }),
  };
  const app = createApp(withBus);
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
  const closeHttp = () =>
    new Promise<void>((resolve, reject) => {
      (server as Server).closeAllConnections?.();
      server.close((err) => (err ? reject(err) : resolve()));
    });
  let alerting: Alerting | undefined;
  // Signed checkpoints of every organisation's head, outside the database, at a fixed interval.
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
  // The metrics' checkpoint age counts from the last run that completed (or from start).
  let checkpointedAt = Date.now();
  const checkpointer = signer && {
    checkpoint: async (organisationId?: string) => {
      const written = await signer.checkpoint(organisationId);
      checkpointedAt = Date.now();
      return written;
    },
  };
  const checkpoints = checkpointer
    ? startCheckpointSchedule(checkpointer, al?.intervalMs ?? 300_000, (err) => {
        deps.metrics?.checkpointFailures.inc();
        deps.logger.error({ err }, "activity-log checkpoint failed");
      })
    : undefined;
  let metricsServer: MetricsServer | undefined;
  let stopCounting = () => {};
  try {
    // A new alarm is pushed once routing has claimed it, so it carries its cancel window.
    const beforeNewAlarm = async (alarmId: string) => alerting?.routed(alarmId);
    live =
      deps.live === false
        ? undefined
        : await attachLive(server as Server, withBus, { beforeNewAlarm, ...(deps.live ?? {}) });
    alerting = deps.alerting === false ? undefined : await startAlerting(withBus, deps.alerting ?? {});
    if (deps.metrics) {
      const io = live?.io;
      deps.metrics.observe({
        pool: deps.pool,
        sockets: () => io?.engine.clientsCount ?? 0,
        ...(checkpointer ? { checkpointAgeSeconds: () => (Date.now() - checkpointedAt) / 1000 } : {}),
      });
      stopCounting = bus.on("alarm:emitted", (e) => deps.metrics?.countAlarmEvent(e.change ?? "raised"));
      if (deps.metricsAddress) {
        metricsServer = await startMetricsServer(deps.metrics, deps.metricsAddress);
        deps.logger.info({ url: `${metricsServer.url}/metrics` }, "metrics listening");
      }
    }
  } catch (err) {
    stopCounting();
    await checkpoints?.stop().catch(() => {});
    await alerting?.close().catch(() => {});
    await live?.close().catch(() => {});
    await closeHttp().catch(() => {});
    throw err;
  }
  return {
    url: `http://${shownHost}:${port}`,
    server: server as Server,
    app,
    live,
    alerting,
    checkpoint: (organisationId?: string) => checkpointer?.checkpoint(organisationId) ?? Promise.resolve([]),
    metricsServer,
    close: async () => {
      stopCounting();
      await checkpoints?.stop();
      await alerting?.close();
      await live?.close();
      await closeHttp();
      await metricsServer?.close();
    },
  };
}
