/**
 * Ingest's HTTP side: GET /healthz, GET /metrics (Prometheus), and the OsmAnd
 * protocol on / (GET query string, form POST, JSON POST). An OsmAnd request is
 * answered only after its position is committed: 200, or 400 when the device
 * is unknown or the request malformed (kept as a dead letter either way).
 */
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "pino";
import type { IngestMetrics } from "../metrics";
import { type Decision, deadLetter } from "../pipeline/decide";
import type { Pipeline } from "../pipeline/pipeline";
import type { StalledLane } from "../pipeline/writer";
import { OSMAND_TOPIC, osmandDecision, osmandSerial } from "../trackers/osmand";

export interface IngestHttpOptions {
  port: number;
  host: string;
  logger: Logger;
  metrics: IngestMetrics;
  pipeline: Pipeline;
  health: () => { mqtt: boolean; backlog: number; stalled: StalledLane[] };
}

const MAX_BODY_BYTES = 64 * 1024;

export function createIngestHttpApp(o: Omit<IngestHttpOptions, "port" | "host">) {
  const app = new Hono();

  app.get("/healthz", (c) => {
    const h = o.health();
    const ok = h.mqtt && h.stalled.length === 0;
    // 503 names what is wrong: the broker connection, or each stalled lane and how long it waited.
    return c.json({ status: ok ? "ok" : "degraded", ...h }, ok ? 200 : 503);
  });

  app.get("/metrics", async (c) => {
    return c.body(await o.metrics.registry.metrics(), 200, {
      "content-type": o.metrics.registry.contentType,
    });
  });

  const osmand = async (fields: Record<string, string>, json: unknown, rawText: string) => {
    o.metrics.messagesIn.inc({ transport: "http", kind: "osmand" });
    let decision: Decision | undefined;
    const accepted = await new Promise<boolean>((resolve) => {
      const taken = o.pipeline.acceptWith(
        osmandSerial(json ?? fields),
        () => resolve(true),
        (lookup, now) => {
          decision = osmandDecision(
            json === undefined ? { fields, rawText } : { fields, json, rawText },
            now,
            lookup,
          );
          return decision;
        },
        false,
        { nack: () => resolve(false) },
      );
      if (!taken) resolve(false);
    });
    if (!accepted) return "unavailable" as const;
    return decision?.kind === "store" ? ("ok" as const) : ("bad" as const);
  };

  /** A request refused before it could be read is a dead letter too (with what is known of it). */
  const refusedRequest = (detail: string, rawText: string) =>
    new Promise<void>((resolve) => {
      const taken = o.pipeline.acceptWith(
        undefined,
        () => resolve(),
        (_lookup, now) =>
          deadLetter({
            now,
            transport: "http",
            topic: OSMAND_TOPIC,
            payload: Buffer.from(rawText, "utf8"),
            device: undefined,
            reason: "payload_too_large",
            detail,
          }),
        false,
        { nack: () => resolve() },
      );
      if (!taken) resolve();
    });

  app.on(
    ["POST"],
    "/",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: async (c) => {
        await refusedRequest(`body: over ${MAX_BODY_BYTES} bytes`, new URL(c.req.url).search.slice(1, 2_049));
        return c.text("payload too large", 413);
      },
    }),
  );

  app.on(["GET", "POST"], "/", async (c) => {
    const fields: Record<string, string> = { ...c.req.query() };
    let json: unknown;
    let rawText = new URL(c.req.url).search.slice(1);
    if (c.req.method === "POST") {
      const text = await c.req.text();
      if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
        await refusedRequest(
          `body: ${Buffer.byteLength(text)} bytes > ${MAX_BODY_BYTES}`,
          text.slice(0, 2_048),
        );
        return c.text("payload too large", 413);
      }
      const type = c.req.header("content-type") ?? "";
      if (type.includes("application/json")) {
        rawText = text;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
      } else if (text.length > 0) {
        rawText = rawText ? `${rawText}&${text}` : text;
        for (const [k, v] of new URLSearchParams(text)) fields[k] = v;
      }
    }
    const outcome = await osmand(fields, json, rawText);
    if (outcome === "unavailable") return c.text("Service Unavailable", 503);
    return outcome === "ok" ? c.text("OK", 200) : c.text("Bad Request", 400);
  });

  return app;
}

export async function startIngestHttp(
  o: IngestHttpOptions,
): Promise<{ port: number; close(): Promise<void> }> {
  const app = createIngestHttpApp(o);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: o.port, hostname: o.host }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : o.port;
  o.logger.info({ port }, "ingest http listening");
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
