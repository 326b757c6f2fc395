/**
 * GET /metrics on an address of its own (INGEST_METRICS_HOST:INGEST_METRICS_PORT, loopback by
 * default), never on the OsmAnd port, which phones reach from the internet.
 */
import type { Server } from "node:http";
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import type { Logger } from "pino";
import type { IngestMetrics } from "../metrics";

export async function startMetricsServer(
  metrics: IngestMetrics,
  opts: { port: number; host: string; logger: Logger },
): Promise<{ port: number; close(): Promise<void> }> {
  const app = new Hono();
  app.get("/metrics", async (c) =>
    c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType }),
  );
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port, hostname: opts.host }, () => resolve(s));
    s.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  opts.logger.info({ port, host: opts.host }, "ingest metrics listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        (server as Server).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
