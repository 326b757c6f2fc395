/**
 * Ingest's HTTP side: GET /healthz and the OsmAnd (metrics: metrics-server.ts, on their own address)
 * protocol on / (GET query string, form POST, JSON POST).
 *
 * OsmAnd requests are authenticated per device: the identifier the app sends
 * (`id`, `deviceid` or `device_id`) is the secret issued to the device at
 * provisioning, resolved here to its serial before anything else is read;
 * the position is then stored for that serial and nothing the request says.
 * Answers: 200 after commit; 400 malformed (no identifier, conflicting
 * identifiers, bad fields); 401 for anything that does not authenticate (an
 * unknown identifier, a serial, a wrong or shortened secret, an MQTT
 * device: all alike); 413 too large; 429 after too many refusals from one
 * address; 503 while stopping. Every 400, 401 and 413 is a dead letter whose
 * detail names the field; identifiers are never stored.
 */
import { type ServerType, serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { type Context, Hono } from "hono";
import type pg from "pg";
import type { Logger } from "pino";
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterPostgres } from "rate-limiter-flexible";
import type { IngestMetrics } from "../metrics";
import type { DeadLetterReason, Decision } from "../pipeline/decide";
import type { Pipeline } from "../pipeline/pipeline";
import { errorDetail } from "../pipeline/storage-errors";
import type { StalledLane } from "../pipeline/writer";
import {
  type OsmandRequest,
  osmandDecision,
  osmandIdentifier,
  osmandRefusal,
  readOsmandRequest,
  redactedRawRequest,
} from "../trackers/osmand";
import type { OsmandAuthenticator } from "./osmand-auth";

export interface IngestHttpOptions {
  port: number;
  host: string;
  logger: Logger;
  metrics: IngestMetrics;
  pipeline: Pipeline;
  /** `down`: parts not running now (the alarm lane's worker thread while it restarts). */
  health: () => { mqtt: boolean; backlog: number; stalled: StalledLane[]; down?: { part: string }[] };
  /** Resolves an OsmAnd identifier to its device's serial (`osmandAuthenticator`). */
  authenticate: OsmandAuthenticator;
  /**
   * Refused OsmAnd requests (400, 401, 413) allowed per client address and minute before the address
   * is answered 429 without a look-up. Counted in PostgreSQL (`rate_limits`) when a pool is given,
   * so the bound holds across ingest processes; per process otherwise.
   */
  refusalsPerMinute: number;
  rateLimitPool?: pg.Pool;
}

export const MAX_BODY_BYTES = 64 * 1024;

type Outcome = "ok" | "bad" | "unauthorised" | "unavailable";

function limiterFor(o: Pick<IngestHttpOptions, "refusalsPerMinute" | "rateLimitPool">): RateLimiterAbstract {
  const window = { points: o.refusalsPerMinute, duration: 60, keyPrefix: "osmand-refused" };
  if (!o.rateLimitPool) return new RateLimiterMemory(window);
  return new RateLimiterPostgres({
    ...window,
    storeClient: o.rateLimitPool,
    tableName: "rate_limits",
    tableCreated: true,
    insuranceLimiter: new RateLimiterMemory(window),
  });
}

function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // app.request() in tests has no socket
  }
}

type MakeDecision = (lookup: Parameters<typeof osmandDecision>[3], now: number) => Decision;

/** Hands a decision to the pipeline and waits for its commit ("unavailable": not taken, or ingest stopped first). */
function submitTo(pipeline: Pipeline, serial: string | undefined, make: MakeDecision) {
  return new Promise<Decision | "unavailable">((resolve) => {
    let decision: Decision | undefined;
    const taken = pipeline.acceptWith(
      serial,
      () => resolve(decision ?? "unavailable"),
      (lookup, now) => {
        decision = make(lookup, now);
        return decision;
      },
      false,
      // Ingest stopped before committing it: 503, the app sends it again.
      { nack: () => resolve("unavailable") },
    );
    if (!taken) resolve("unavailable");
  });
}

/**
 * An OsmAnd request from its identifier to its outcome: refusals counted against the address and
 * kept as dead letters, a decision handed to the pipeline and answered once it is committed.
 */
function osmandHandling(
  o: Omit<IngestHttpOptions, "port" | "host">,
  log: Logger,
  limiter: RateLimiterAbstract,
) {
  const submit = (serial: string | undefined, make: MakeDecision) => submitTo(o.pipeline, serial, make);

  const refuse = async (
    address: string,
    payloadText: string,
    reason: DeadLetterReason,
    detail: string,
    bytes?: number,
  ) => {
    await limiter.consume(address).catch(() => undefined);
    log.info({ address, reason, detail }, "osmand request refused");
    const d = await submit(undefined, (_lookup, now) =>
      osmandRefusal(payloadText, now, reason, detail, bytes),
    );
    return d === "unavailable" ? "unavailable" : undefined;
  };

  const osmand = async (c: Context, request: OsmandRequest, address: string): Promise<Outcome> => {
    const identifier = osmandIdentifier(request);
    if (!identifier.ok) {
      // A body that is not JSON hides its device_id: say what was wrong with the body.
      const [reason, detail]: [DeadLetterReason, string] =
        request.invalidJson !== undefined
          ? ["invalid_json", `body: ${request.invalidJson}`]
          : ["invalid_message", identifier.detail];
      return (await refuse(address, request.payloadText, reason, detail)) ?? "bad";
    }
    let serial: string | undefined;
    try {
      serial = await o.authenticate(identifier.id);
    } catch (err) {
      // The database is not answering: the app keeps the fix and sends it again.
      log.warn({ err }, "osmand authentication unavailable");
      return "unavailable";
    }
    if (serial === undefined) {
      const r = await refuse(
        address,
        request.payloadText,
        "unknown_device",
        "id: no active OsmAnd device has this identifier",
      );
      return r ?? "unauthorised";
    }
    const d = await submit(serial, (lookup, now) => osmandDecision(request, serial, now, lookup));
    if (d === "unavailable") return d;
    if (d.kind === "store") return "ok";
    await limiter.consume(address).catch(() => undefined);
    log.info(
      { address, serial, reason: d.row.reason, detail: d.row.detail, path: c.req.path },
      "osmand request refused",
    );
    return d.row.reason === "unknown_device" ? "unauthorised" : "bad";
  };

  return { refuse, osmand };
}

export function createIngestHttpApp(o: Omit<IngestHttpOptions, "port" | "host">) {
  const app = new Hono();
  const log = o.logger.child({ component: "ingest-http" });
  const limiter = limiterFor(o);

  app.get("/healthz", (c) => {
    const h = o.health();
    const ok = h.mqtt && h.stalled.length === 0 && (h.down?.length ?? 0) === 0;
    // 503 names what is wrong: the broker connection, each stalled lane and how long it waited, what is down.
    return c.json({ status: ok ? "ok" : "degraded", ...h }, ok ? 200 : 503);
  });

  // /metrics is not here: this port is public (phones); see metrics-server.ts.

  const { refuse, osmand } = osmandHandling(o, log, limiter);

  app.on(["GET", "POST"], "/", async (c) => {
    o.metrics.messagesIn.inc({ transport: "http", kind: "osmand" });
    const address = clientAddress(c);
    const seen = await limiter.get(address).catch(() => null);
    if (seen && seen.consumedPoints >= o.refusalsPerMinute) {
      const retryAfter = Math.max(1, Math.ceil(seen.msBeforeNext / 1000));
      log.warn({ address }, "osmand refusals per address reached: answering 429");
      return c.text("Too Many Requests", 429, { "retry-after": String(retryAfter) });
    }
    const query = new URL(c.req.url).search.slice(1);
    let body: { type: "form" | "json" | "none"; text: string } = { type: "none", text: "" };
    if (c.req.method === "POST") {
      const declared = Number(c.req.header("content-length") ?? "0");
      const tooLarge = async (bytes: number) =>
        (await refuse(
          address,
          readOsmandRequest(query, { type: "none", text: "" }).payloadText,
          "payload_too_large",
          `body: ${bytes} bytes, more than ${MAX_BODY_BYTES}`,
          bytes,
        )) === "unavailable"
          ? c.text("Service Unavailable", 503)
          : c.text("Payload Too Large", 413);
      if (declared > MAX_BODY_BYTES) return tooLarge(declared);
      const text = await c.req.text();
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_BODY_BYTES) return tooLarge(bytes);
      const type = c.req.header("content-type") ?? "";
      body = { type: type.includes("application/json") ? "json" : "form", text };
    }
    let outcome: Outcome;
    try {
      outcome = await osmand(c, readOsmandRequest(query, body), address);
    } catch (err) {
      // Content that makes handling throw is kept as a dead letter and answered 400, never 500: the
      // app would send the same request again and again.
      log.error({ err, address }, "osmand request made ingest throw");
      const raw = redactedRawRequest(query, body.text);
      const r = await refuse(address, raw, "ingest_error", errorDetail(err));
      outcome = r ?? "bad";
    }
    if (outcome === "unavailable") return c.text("Service Unavailable", 503);
    if (outcome === "unauthorised") return c.text("Unauthorized", 401);
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
