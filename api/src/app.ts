import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { getConnInfo } from "@hono/node-server/conninfo";
import { serveStatic } from "@hono/node-server/serve-static";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { activityRoutes } from "./activity/routes";
import { useActivityKeyring } from "./activity/writer";
import { alarmRoutes } from "./alarms/routes";
import { authenticate } from "./auth/middleware";
import { publicRateLimit } from "./auth/rate-limit";
import { authRoutes } from "./auth/routes";
import { alarmCallRoutes, contactRoutes } from "./contacts/routes";
import { type AppEnv, router } from "./context";
import { deadLetterRoutes } from "./dead-letters/routes";
import { departmentRoutes } from "./departments/routes";
import type { ApiDeps } from "./deps";
import { deviceLocateRoutes, recipientLocateRoutes } from "./devices/locate-routes";
import { deviceRoutes } from "./devices/routes";
import { ApiError, fromDatabaseError, isOutOfRange } from "./errors";
import { geofenceRoutes } from "./geofences/routes";
import { describeOperations } from "./openapi";
import { organisationRoutes } from "./organisations/routes";
import { positionRoutes } from "./positions/routes";
import { privacyRoutes } from "./privacy/routes";
import { recipientRoutes } from "./recipients/routes";
import { alertEndpointRoutes, alertRuleRoutes, alertTargetRoutes } from "./routing/routes";
import { ssoLoginRoutes, ssoProviderRoutes } from "./sso/routes";
import { tokenRoutes } from "./tokens/routes";
import { deviceMessageRoutes } from "./transactions/routes";
import { refuseUnstorableText } from "./unstorable-text";
import { userRoutes } from "./users/routes";

export const API_VERSION = "0.1.0";

/** The socket's remote address; none when the app is called without a Node server (app.request). */
function defaultClientIp(c: Context<AppEnv>): string | undefined {
  return (c.env as { incoming?: unknown } | undefined)?.incoming ? getConnInfo(c).remote.address : undefined;
}

function problemResponse(c: Context<AppEnv>, err: ApiError) {
  const body = err.problem(c.get("requestId") ?? "unknown", c.req.path);
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (err.extra.retryAfterSeconds !== undefined) headers["retry-after"] = String(err.extra.retryAfterSeconds);
  return c.body(JSON.stringify(body), err.status as 400, headers);
}

export const MAX_BODY_BYTES = 1024 * 1024;
const HEALTH_TIMEOUT_MS = 2_000;

type App = ReturnType<typeof router>;

/** The request id, the caller's address and a logger on the context, and one log line per request. */
function requestLog(app: App, deps: ApiDeps) {
  // A caller's own X-Request-Id is kept when it is short and plain (no header injection), else a UUID.
  app.use("*", requestId({ limitLength: 100 }));
  app.use("*", async (c, next) => {
    const id = c.get("requestId");
    const ip = (deps.clientIp ? deps.clientIp(c.req as never) : defaultClientIp(c)) ?? null;
    c.set("ip", ip?.replace(/^::ffff:/, "") ?? null);
    const log = deps.logger.child({ requestId: id });
    c.set("log", log);
    const started = performance.now();
    await next();
    const actor = c.get("actor");
    log.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        actor: actor ? `${actor.kind}:${actor.kind === "user" ? actor.userId : actor.tokenId}` : undefined,
      },
      "request",
    );
  });
}

/** What every request passes before a route: headers, origin, body size and text checks, limits, authentication. */
function guards(app: App, deps: ApiDeps, publicOrigin: string) {
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", "data:", ...tileSource(deps.config.TILE_URL)],
        styleSrc: ["'self'", "'unsafe-inline'"],
        frameAncestors: ["'none'"],
      },
      strictTransportSecurity: publicOrigin.startsWith("https:")
        ? "max-age=31536000; includeSubDomains"
        : false,
    }),
  );
  // Form posts from other sites are refused by origin; JSON changes made with the
  // session cookie must also carry the CSRF token (checked in authenticate).
  // Bearer-token callers (integrations) carry no ambient credentials, so it does not apply to them.
  const sameOrigin = csrf({ origin: publicOrigin });
  app.use("/api/*", (c, next) => (c.req.header("authorization") ? next() : sameOrigin(c, next)));
  // Refused before anything reads the body (JSON bodies here are small; 1 MiB leaves room for polygons).
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        problemResponse(
          c,
          new ApiError("payload_too_large", `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`),
        ),
    }),
  );
  app.use("/api/*", refuseUnstorableText);
  // Hono's "/x/*" also matches "/x" itself; each request must pass one limiter only once.
  const publicLimit = publicRateLimit(deps);
  for (const path of [
    "/api/v1/auth/login",
    "/api/v1/auth/password-reset/*",
    "/api/v1/auth/invitations/*",
    "/api/v1/auth/sso/*",
  ]) {
    app.use(path, publicLimit);
  }
  app.use("/api/v1/*", authenticate(deps));
}

function mountRoutes(app: App, deps: ApiDeps) {
  app.route("/api/v1/auth", authRoutes(deps));
  app.route("/api/v1/auth/sso", ssoLoginRoutes(deps));
  app.route("/api/v1/organisation", organisationRoutes(deps));
  app.route("/api/v1/departments", departmentRoutes(deps));
  app.route("/api/v1/users", userRoutes(deps));
  app.route("/api/v1/recipients", recipientRoutes(deps));
  app.route("/api/v1/recipients", recipientLocateRoutes(deps));
  app.route("/api/v1/recipients", contactRoutes(deps));
  app.route("/api/v1/devices", deviceRoutes(deps));
  app.route("/api/v1/devices", deviceLocateRoutes(deps));
  app.route("/api/v1/alarms", alarmRoutes(deps));
  app.route("/api/v1/alarms", alarmCallRoutes(deps));
  app.route("/api/v1/alert-rules", alertRuleRoutes(deps));
  app.route("/api/v1/alert-endpoints", alertEndpointRoutes(deps));
  app.route("/api/v1/alert-targets", alertTargetRoutes(deps));
  app.route("/api/v1/geofences", geofenceRoutes(deps));
  app.route("/api/v1/positions", positionRoutes(deps));
  app.route("/api/v1/activity", activityRoutes(deps));
  app.route("/api/v1/tokens", tokenRoutes(deps));
  app.route("/api/v1/dead-letters", deadLetterRoutes(deps));
  app.route("/api/v1/device-messages", deviceMessageRoutes(deps));
  app.route("/api/v1/privacy", privacyRoutes(deps));
  app.route("/api/v1/sso-providers", ssoProviderRoutes(deps));
}

/** The OpenAPI document at /api/openapi.json, and its readable page. */
function mountOpenApi(app: App) {
  describeOperations(app);
  app.openAPIRegistry.registerComponent("securitySchemes", "session", {
    type: "apiKey",
    in: "cookie",
    name: "vakt_session",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    // Relative: the document describes the site that serves it.
    servers: [{ url: "/", description: "This Vakt site" }],
    info: {
      title: "Vakt API",
      version: API_VERSION,
      license: { name: "Apache-2.0", url: "https://www.apache.org/licenses/LICENSE-2.0" },
      description:
        "Monitoring of personal safety alarms. Errors are RFC 9457 problem documents. Changes made with the " +
        "session cookie need the X-CSRF-Token header; integrations use a Bearer API token.",
    },
  });
  mountDocs(app);
}

/**
 * What the Dockerfile and compose probe: 503 when the database does not answer or the live
 * listener (ingest's alarms to consoles) is gone, so the orchestrator restarts the process.
 */
function mountHealth(app: App, deps: ApiDeps) {
  app.get("/api/healthz", async (c) => {
    const database = await Promise.race([
      deps.pool.query("SELECT 1").then(
        () => "ok",
        () => "unreachable",
      ),
      new Promise<string>((resolve) => setTimeout(resolve, HEALTH_TIMEOUT_MS, "timeout").unref()),
    ]);
    const listener = deps.health?.listener ? (deps.health.listener() ? "ok" : "down") : undefined;
    const ok = database === "ok" && listener !== "down";
    return c.json({ ok, database, ...(listener ? { listener } : {}) }, ok ? 200 : 503);
  });
}

/** Every refusal and failure as an RFC 9457 problem; an unexpected error is logged, not shown. */
function answerProblems(app: App, deps: ApiDeps) {
  app.notFound((c) =>
    problemResponse(c, new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}.`)),
  );
  app.onError((err, c) => {
    if (err instanceof ApiError) return problemResponse(c, err);
    const fromDb = fromDatabaseError(err);
    if (fromDb) {
      // Said in the log: a schema that lets such a value through is a finding to fix at the edge.
      if (isOutOfRange(err))
        (c.get("log") ?? deps.logger).warn({ err }, "a value past its schema refused by the database");
      return problemResponse(c, fromDb);
    }
    if (err instanceof HTTPException && err.status < 500) {
      // Only hono/csrf throws a 403 here.
      if (err.status === 403)
        return problemResponse(c, new ApiError("csrf_failed", "Cross-site request refused."));
      const code = err.status === 401 ? "unauthenticated" : "bad_request";
      return problemResponse(c, new ApiError(code, err.message || undefined));
    }
    (c.get("log") ?? deps.logger).error({ err }, "unhandled error");
    return problemResponse(
      c,
      new ApiError("internal", "Something went wrong; the request id helps find out what."),
    );
  });
}

/** The Vakt HTTP API. Everything it needs comes in `deps`; it reaches for no globals. */
export function createApp(deps: ApiDeps) {
  // One writer of activity-log rows per process: logActivity signs with these keys.
  if (deps.activityLog) useActivityKeyring(deps.activityLog.keyring);
  const app = router();
  // First, so that every answer (refusals by later middleware too) is counted under its route.
  if (deps.metrics) app.use("*", deps.metrics.httpMiddleware);
  requestLog(app, deps);
  guards(app, deps, new URL(deps.config.PUBLIC_URL).origin);
  mountRoutes(app, deps);
  mountOpenApi(app);
  mountHealth(app, deps);
  if (deps.config.WEB_DIST_DIR) mountWebConsole(app, deps.config.WEB_DIST_DIR, deps.config.TILE_URL);
  answerProblems(app, deps);
  return app;
}

export type VaktApp = ReturnType<typeof createApp>;

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vakt API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>`;
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#docs", deepLinking: true });`;
const DOCS_ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
};

/** A readable page for the OpenAPI document, from swagger-ui-dist's files (no CDN). */
function mountDocs(app: App) {
  const require = createRequire(import.meta.url);
  const dir = join(require.resolve("swagger-ui-dist/package.json"), "..");
  const cache = new Map<string, string>();
  app.get("/api/docs", (c) => c.html(DOCS_HTML));
  app.get("/api/docs/init.js", (c) =>
    c.body(DOCS_INIT, 200, { "content-type": "text/javascript; charset=utf-8" }),
  );
  app.get("/api/docs/assets/:file", async (c) => {
    const file = c.req.param("file");
    const type = DOCS_ASSETS[file];
    if (!type) throw new ApiError("not_found");
    let body = cache.get(file);
    if (body === undefined) {
      body = await readFile(join(dir, file), "utf8");
      cache.set(file, body);
    }
    return c.body(body, 200, { "content-type": type, "cache-control": "public, max-age=86400" });
  });
}

/** Where map tiles come from, for the Content-Security-Policy (`{s}` subdomains become a wildcard). */
export function tileSource(tileUrl: string | undefined): string[] {
  if (!tileUrl) return [];
  const m = /^(https?:\/\/[^/]+)/.exec(tileUrl.replaceAll("{s}", "*"));
  return m?.[1] ? [m[1]] : [];
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch,
  );

/**
 * Serves the built console: its files, and index.html (with the tile URL in a
 * meta tag) for every other path that is not under /api, so client-side routes work.
 */
function mountWebConsole(app: App, dir: string, tileUrl: string | undefined) {
  let index: string | undefined;
  const indexHtml = async () => {
    if (index === undefined) {
      const raw = await readFile(join(dir, "index.html"), "utf8");
      const meta = tileUrl ? `<meta name="vakt-tile-url" content="${escapeHtml(tileUrl)}">` : "";
      index = raw.replace("</head>", `${meta}</head>`);
    }
    return index;
  };
  app.get("/", async (c) => c.html(await indexHtml()));
  app.get("/index.html", async (c) => c.html(await indexHtml()));
  app.use("/*", async (c, next) =>
    c.req.path.startsWith("/api/") ? next() : serveStatic({ root: dir })(c, next),
  );
  app.get("*", async (c, next) => (c.req.path.startsWith("/api/") ? next() : c.html(await indexHtml())));
}
