/**
 * Prometheus metrics of one API process, on its own registry (tests run several side by side),
 * served by `startMetricsServer` on an address of its own, never on the public API port.
 */
import type { Server } from "node:http";
import { type ServerType, serve } from "@hono/node-server";
import type { AlarmChange } from "@vakt/schemas";
import { Hono, type MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type pg from "pg";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/** The change kinds an alarm event may carry as a label; anything else is counted as "other". */
const ALARM_CHANGES = new Set<AlarmChange | "raised">([
  "raised",
  "changed",
  "acknowledged",
  "commented",
  "resolved",
  "cancelled",
  "reopened",
]);

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Where the gauges read at scrape time get their values (set by startApiServer). */
interface ScrapeSources {
  sockets?: () => number;
  checkpointAgeSeconds?: () => number | undefined;
  pool?: pg.Pool;
}

/** Requests and their durations, by method, route template and status. */
function httpMetrics(registry: Registry): MiddlewareHandler {
  const httpLabels = ["method", "route", "status", "ok"] as const;
  const requests = new Counter({
    name: "vakt_api_http_requests_total",
    help: "HTTP requests answered, by method, route template and status",
    labelNames: httpLabels,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "vakt_api_http_request_duration_seconds",
    help: "Time to answer an HTTP request, by method, route template and status",
    labelNames: httpLabels,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Labelled by the route template of the handler the request matched, never the raw path (ids would
  // make a series per recipient, made-up paths one per attacker's guess), even when a middleware
  // (authentication, rate limit) answered before the handler ran. @hono/prometheus labels by the
  // route that answered, which makes every refusal "/api/v1/*".
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const handler = matchedRoutes(c).findLast((r) => r.method !== "ALL");
      const labels = {
        method: METHODS.has(c.req.method) ? c.req.method : "other",
        route: handler?.path ?? "unmatched",
        status: String(c.res.status),
        ok: String(c.res.ok),
      };
      requests.inc(labels);
      duration.observe(labels, (performance.now() - started) / 1000);
    }
  };
}

/** Alarm events pushed and alert deliveries recorded by this process. */
function alarmCounters(registry: Registry) {
  const alarmEvents = new Counter({
    name: "vakt_api_alarm_events_total",
    help: "Alarm events this process pushed to consoles, by change (raised, acknowledged, resolved, ...)",
    labelNames: ["change"] as const,
    registers: [registry],
  });
  const alertDeliveries = new Counter({
    name: "vakt_api_alert_deliveries_total",
    help: "Alert delivery attempts recorded by this process, by channel and result",
    labelNames: ["channel", "result"] as const,
    registers: [registry],
  });
  return { alarmEvents, alertDeliveries };
}

/** graphile-worker's queue, read at scrape time: it lives in PostgreSQL and is shared by every API process. */
function queueMetrics(registry: Registry, sources: ScrapeSources): () => Promise<void> {
  const queueJobs = new Gauge({
    name: "vakt_api_alert_queue_jobs",
    help: "Alert-routing jobs (escalation steps, deliveries) waiting in graphile-worker's queue, by task and state (due, scheduled, running)",
    labelNames: ["task", "state"] as const,
    registers: [registry],
  });
  const queueLag = new Gauge({
    name: "vakt_api_alert_queue_lag_seconds",
    help: "How long the oldest due, unclaimed alert-routing job has waited past its run time (escalation lag)",
    registers: [registry],
  });
  const queueScrapeErrors = new Counter({
    name: "vakt_api_alert_queue_scrape_errors_total",
    help: "Scrapes that could not read the alert-routing queue",
    registers: [registry],
  });
  return async function collectQueue() {
    const pool = sources.pool;
    if (!pool) return;
    try {
      const { rows } = await pool.query<{ task: string; state: string; n: number; lag: number | null }>(
        `SELECT task_identifier AS task,
                CASE WHEN locked_at IS NOT NULL THEN 'running'
                     WHEN run_at <= now() THEN 'due' ELSE 'scheduled' END AS state,
                count(*)::int AS n,
                max(EXTRACT(EPOCH FROM now() - run_at)) FILTER (WHERE locked_at IS NULL AND run_at <= now())::float8 AS lag
           FROM graphile_worker.jobs
          WHERE attempts < max_attempts
          GROUP BY 1, 2`,
      );
      queueJobs.reset();
      let lag = 0;
      for (const r of rows) {
        queueJobs.set({ task: r.task, state: r.state }, r.n);
        if (r.lag !== null && r.lag > lag) lag = r.lag;
      }
      queueLag.set(lag);
    } catch {
      // No graphile-worker schema yet, or the database is away: the counter shows it.
      queueScrapeErrors.inc();
    }
  };
}

/** The activity-log checkpoint schedule: the age of its last run (read at scrape time) and its failures. */
function checkpointMetrics(registry: Registry, sources: ScrapeSources) {
  new Gauge({
    name: "vakt_api_activity_checkpoint_age_seconds",
    help: "Seconds since the activity-log checkpoint schedule last completed a run (or since start, before the first)",
    registers: [registry],
    collect() {
      const age = sources.checkpointAgeSeconds?.();
      if (age !== undefined) this.set(age);
    },
  });
  return new Counter({
    name: "vakt_api_activity_checkpoint_failures_total",
    help: "Activity-log checkpoint runs that failed",
    registers: [registry],
  });
}

export function createApiMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "vakt_api_" });
  const httpMiddleware = httpMetrics(registry);
  const sources: ScrapeSources = {};
  const socketConnections = new Gauge({
    name: "vakt_api_socket_connections",
    help: "socket.io connections open to this process",
    registers: [registry],
    collect() {
      this.set(sources.sockets?.() ?? 0);
    },
  });
  const { alarmEvents, alertDeliveries } = alarmCounters(registry);
  const collectQueue = queueMetrics(registry, sources);
  const checkpointFailures = checkpointMetrics(registry, sources);

  return {
    registry,
    /** Hono middleware counting and timing every request. */
    httpMiddleware,
    socketConnections,
    alarmEvents,
    alertDeliveries,
    checkpointFailures,
    countAlarmEvent(change: AlarmChange | "raised") {
      alarmEvents.inc({ change: ALARM_CHANGES.has(change) ? change : "other" });
    },
    /** Connects the gauges read at scrape time to their sources (set by startApiServer). */
    observe(s: ScrapeSources) {
      Object.assign(sources, s);
    },
    async text(): Promise<string> {
      await collectQueue();
      return registry.metrics();
    },
  };
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics on its own address (API_METRICS_HOST:API_METRICS_PORT, 127.0.0.1 by
 * default), so that neither the public API port nor a reverse proxy in front of it shows them.
 */
export async function startMetricsServer(
  metrics: ApiMetrics,
  opts: { port: number; host: string },
): Promise<MetricsServer> {
  const app = new Hono();
  app.get("/metrics", async (c) =>
    c.body(await metrics.text(), 200, { "content-type": metrics.registry.contentType }),
  );
  app.notFound((c) => c.text("not found", 404));
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port, hostname: opts.host }, () => resolve(s));
    s.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  const shownHost = opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host;
  return {
    url: `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        (server as Server).closeAllConnections?.();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
