/**
 * Process configuration from the environment, one schema per process. Each
 * process parses `process.env` once at start with `loadConfig`; a missing or
 * bad value stops it with one line naming the variable. `.env.example` and the
 * docker-compose test are checked against these same schemas.
 */
import { z } from "zod";

const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: "a postgres:// URL" });
const mqttUrl = z.url({ protocol: /^(mqtts?|wss?|tcp)$/, error: "an mqtt:// or mqtts:// URL" });
const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const flag = z.stringbool();

export const commonEnv = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

// Named apart from its refinement so the field list keeps its shape (and its diffs stay small).
const ingestFields = commonEnv.extend({
  DATABASE_URL: postgresUrl,
  MQTT_URL: mqttUrl,
  MQTT_USERNAME: z.string().min(1).optional(),
  MQTT_PASSWORD: z.string().min(1).optional(),
  /** Stable per process: the broker keeps this client's persistent session (and unacked messages) under it. */
  INGEST_CLIENT_ID: z.string().min(1).max(64).default("vakt-ingest-1"),
  /**
   * Subscribe through `$share/<INGEST_SHARE_GROUP>/…` so several ingest processes split the devices. Off by
   * default: Mosquitto 2.0 was seen to drop most messages to a shared subscription across a broker restart
   * (ingest/src/broker-restart.int.test.ts), so one ingest process on a plain persistent subscription is the
   * safe choice with Mosquitto; clustered brokers (docker-compose.scale.yml, EMQX) turn it on.
   */
  INGEST_SHARED_SUBSCRIPTION: flag.default(false),
  INGEST_SHARE_GROUP: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default("vakt-ingest"),
  INGEST_BATCH_MAX_ROWS: positiveInt.max(50_000).default(5_000),
  INGEST_BATCH_MAX_WAIT_MS: positiveInt.max(1_000).default(25),
  INGEST_MAX_PAYLOAD_BYTES: positiveInt.max(1_048_576).default(65_536),
  /** HTTP for the OsmAnd protocol (Traccar Client), and /healthz (metrics: INGEST_METRICS_PORT). 5055 is Traccar's OsmAnd port. */
  INGEST_HTTP_PORT: port.default(5055),
  INGEST_HTTP_HOST: z.string().default("0.0.0.0"),
  /** Prometheus metrics on their own address, never the public OsmAnd port; false: not served. */
  INGEST_METRICS: flag.default(true),
  INGEST_METRICS_PORT: port.default(9465),
  INGEST_METRICS_HOST: z.string().min(1).default("127.0.0.1"),
  /** 5 (Mosquitto, clustered brokers) or 4, MQTT 3.1.1, for a broker that speaks only that (the embedded aedes). */
  MQTT_PROTOCOL_VERSION: z
    .enum(["4", "5"])
    .default("5")
    .transform(Number)
    .pipe(z.union([z.literal(4), z.literal(5)])),
  /**
   * Where alarms are taken and committed: `worker`, a worker thread of their own (its own MQTT session,
   * event loop and connections), so an alarm never waits behind position work; `inline`, ingest's main thread.
   */
  INGEST_ALARM_LANE: z.enum(["worker", "inline"]).default("worker"),
  /** Work waiting this long without a commit marks a writer lane stalled and /healthz 503. */
  INGEST_STALL_AFTER_MS: positiveInt.max(600_000).default(10_000),
  /** How long SIGTERM waits for the writer to commit what it holds; the rest stays with the broker. */
  INGEST_DRAIN_GRACE_MS: positiveInt.max(600_000).default(10_000),
  /** Deliveries of one message (ingest died handling it each time) before it is kept as a dead letter. */
  INGEST_MAX_REDELIVERIES: positiveInt.max(1_000).default(5),
  /** A device gone away (last will, disconnect the broker reported) raises no_contact after this grace. */
  INGEST_LAST_WILL_GRACE_S: positiveInt.max(86_400).default(120),
  /**
   * Refused OsmAnd requests (malformed, unauthenticated, too large) allowed per client address and
   * minute; beyond that the address is answered 429 until the minute is over.
   */
  INGEST_HTTP_REFUSALS_PER_MINUTE: positiveInt.max(100_000).default(30),
});
export const ingestEnv = ingestFields.superRefine((env, ctx) => {
  if (env.INGEST_METRICS && env.INGEST_METRICS_PORT === env.INGEST_HTTP_PORT)
    ctx.addIssue({
      code: "custom",
      path: ["INGEST_METRICS_PORT"],
      message: "must differ from INGEST_HTTP_PORT: metrics are never served on the public OsmAnd port",
    });
});
export type IngestEnv = z.infer<typeof ingestEnv>;

/** Public endpoints' default bound per address and minute (PUBLIC_RATE_LIMIT_PER_MINUTE). */
export const DEFAULT_PUBLIC_RATE_LIMIT_PER_MINUTE = 300;

/** `id:base64` pairs, comma-separated, each key 32+ bytes (ACTIVITY_LOG_KEYS). */
const activityLogKeysText = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,32}:[A-Za-z0-9+/]+={0,2}(,[A-Za-z0-9_.-]{1,32}:[A-Za-z0-9+/]+={0,2})*$/, {
    error: "keyId:base64[,keyId:base64...]",
  })
  .refine((s) => s.split(",").every((p) => Buffer.from(p.slice(p.indexOf(":") + 1), "base64").length >= 32), {
    error: "each key must be 32+ random bytes (base64)",
  })
  .refine((s) => new Set(s.split(",").map((p) => p.slice(0, p.indexOf(":")))).size === s.split(",").length, {
    error: "key ids must be unique",
  });

/**
 * Networks the server may send requests to although they are loopback,
 * private or link-local (webhooks, SMS gateway, single sign-on, checkpoint
 * receiver): `10.0.0.0/8,127.0.0.1/32`. Cloud metadata addresses stay refused.
 */
const outboundAllowNetworks = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.union([z.cidrv4(), z.cidrv6()], { error: "a network such as 10.0.0.0/8 or fd00::/8" })));

/** The activity log's keys and checkpoints (issue 15): shared by the api and `verify-log`. */
export const activityLogEnv = z.object({
  /** HMAC keys of the activity-log chain; the first writes new rows. Required in production. */
  ACTIVITY_LOG_KEYS: activityLogKeysText.optional(),
  /** Ed25519 private key (PKCS#8 PEM or base64 DER) signing checkpoints. Required in production. */
  ACTIVITY_CHECKPOINT_KEY: z.string().min(40).optional(),
  /** Its public key (SPKI PEM or base64 DER), for verifiers that do not hold the private key. */
  ACTIVITY_CHECKPOINT_PUBLIC_KEY: z.string().min(40).optional(),
  /** Append-only JSON-lines file of checkpoints; keep it outside the database's volume and backups. */
  ACTIVITY_CHECKPOINT_FILE: z.string().min(1).default("activity-checkpoints.jsonl"),
  /** Optional receiver that is POSTed each checkpoint as JSON. */
  ACTIVITY_CHECKPOINT_URL: z.url({ protocol: /^https?$/ }).optional(),
  ACTIVITY_CHECKPOINT_INTERVAL_SECONDS: positiveInt.max(86_400).default(300),
  /** The checkpoint receiver is reached through the outbound guard too. */
  OUTBOUND_ALLOW_NETWORKS: outboundAllowNetworks.optional(),
});

export const apiEnv = commonEnv
  .extend({
    DATABASE_URL: postgresUrl,
    /** Runs the migrations (as the tables' owner) when set; DATABASE_URL is then the runtime role. */
    MIGRATION_DATABASE_URL: postgresUrl.optional(),
    ...activityLogEnv.shape,
    /** The API publishes configuration and commands to devices. */
    MQTT_URL: mqttUrl,
    MQTT_USERNAME: z.string().min(1).optional(),
    MQTT_PASSWORD: z.string().min(1).optional(),
    API_PORT: port.default(3000),
    API_HOST: z.string().default("0.0.0.0"),
    /**
     * Prometheus metrics (GET /metrics) on an address of their own, never the public API port:
     * loopback by default; docker-compose opens it to the compose network only. false: not served.
     */
    API_METRICS: flag.default(true),
    API_METRICS_PORT: port.default(9464),
    API_METRICS_HOST: z.string().min(1).default("127.0.0.1"),
    /** Where people reach the console; decides Secure cookies and links in e-mails. */
    PUBLIC_URL: z.url().default("http://localhost:3000"),
    SESSION_IDLE_MINUTES: positiveInt.max(24 * 60).default(30),
    SESSION_ABSOLUTE_HOURS: positiveInt.max(7 * 24).default(12),
    /** Key for pseudonymous ids given to integrations; at least 32 characters. */
    PSEUDONYM_KEY: z.string().min(32),
    /** Folder with the built web console; served at / when set. */
    WEB_DIST_DIR: z.string().optional(),
    TILE_URL: z.string().default("https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
    SMTP_FROM: z.string().default("Vakt <vakt@localhost>"),
    SMS_GATEWAY_URL: z.url().optional(),
    /** An alarm turns tracking on for its device for at most this long (or until it is resolved). */
    ALARM_TRACKING_MINUTES: positiveInt.max(24 * 60).default(60),
    /** Escalation worker (graphile-worker) concurrency in this process; 0 runs no worker here. */
    ALERT_WORKER_CONCURRENCY: z.coerce.number().int().min(0).max(50).default(4),
    /**
     * Connections of the alarm path's own pool (claim and live push of alarms), kept open, so an
     * alarm never queues behind device pushes or requests on the shared pool; 0: the shared pool.
     */
    API_ALARM_POOL_SIZE: z.coerce.number().int().min(0).max(10).default(2),
    /**
     * Requests per minute from one address to the public endpoints (login,
     * password reset, invitations, single sign-on); 0 turns the limit off. A
     * whole care home behind one NAT address logs in at shift change, so it is generous.
     */
    PUBLIC_RATE_LIMIT_PER_MINUTE: z.coerce
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(DEFAULT_PUBLIC_RATE_LIMIT_PER_MINUTE),
  })
  .superRefine((env, ctx) => {
    if (env.API_METRICS && env.API_METRICS_PORT === env.API_PORT)
      ctx.addIssue({
        code: "custom",
        path: ["API_METRICS_PORT"],
        message: "must differ from API_PORT: metrics are never served on the public port",
      });
    if (env.NODE_ENV !== "production") return;
    for (const name of ["ACTIVITY_LOG_KEYS", "ACTIVITY_CHECKPOINT_KEY"] as const) {
      if (env[name] === undefined)
        ctx.addIssue({ code: "custom", path: [name], message: "required in production" });
    }
  });
export type ApiEnv = z.infer<typeof apiEnv>;

/** `npm start`: everything in one process, with embedded servers for what is not configured. */
export const standaloneEnv = commonEnv.extend({
  DATABASE_URL: postgresUrl.optional(),
  /** With DATABASE_URL: the owner's URL for migrations (DATABASE_URL is then the runtime role). */
  MIGRATION_DATABASE_URL: postgresUrl.optional(),
  MQTT_URL: mqttUrl.optional(),
  DATA_DIR: z.string().default(".data"),
  API_PORT: port.default(3000),
  MQTT_PORT: port.default(1883),
  /**
   * Without MQTT_URL: `auto` runs Mosquitto from PATH (MQTT 5 and 3.1.1) when installed, else the
   * embedded aedes (MQTT 3.1.1 only); `mosquitto` or `aedes` insists on one.
   */
  MQTT_BROKER: z.enum(["auto", "mosquitto", "aedes"]).default("auto"),
  INGEST_HTTP_PORT: port.default(5055),
  DEMO_ADMIN_PASSWORD: z.string().min(12).optional(),
  SIM_DEVICES: z.coerce.number().int().min(0).max(10_000).default(20),
  SIM_ENABLED: flag.default(true),
  TILE_URL: z.string().default("https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
  OUTBOUND_ALLOW_NETWORKS: outboundAllowNetworks.optional(),
  /** As for ingest: a device gone away raises no_contact after this grace. */
  INGEST_LAST_WILL_GRACE_S: positiveInt.max(86_400).default(120),
  /** As for ingest; with MQTT_URL, a stack sharing that broker with another needs its own. */
  INGEST_CLIENT_ID: ingestFields.shape.INGEST_CLIENT_ID,
});
export type StandaloneEnv = z.infer<typeof standaloneEnv>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment; throws ConfigError whose problems read "VARIABLE: what is wrong". */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  // Empty strings count as unset, as docker-compose writes `VAR=` for unset values.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((i) => `${i.path.join(".") || "(environment)"}: ${i.message}`),
  );
}
