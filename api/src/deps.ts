import type { ApiEnv, DeviceCommandPublisher } from "@vakt/schemas";
import type { StorageCapabilities } from "@vakt/storage";
import type pg from "pg";
import type { Logger } from "pino";
import type { ActivityLogSetup } from "./activity/chain";
import type { Bus } from "./bus";
import type { ApiMetrics } from "./metrics";
import type { OutboundHttp } from "./outbound";

/** Sends downlinks to devices: the contract (topics, QoS, retain, payloads) is @vakt/schemas' downlink.ts. */
export type { DeviceCommandPublisher };

/** Sends a text message through the configured SMS gateway. */
export interface SmsSender {
  send(to: string, text: string): Promise<void>;
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
}
export interface Mailer {
  send(mail: Mail): Promise<void>;
}

export interface Clock {
  now(): Date;
}

/** argon2id cost. Production default is OWASP's (19 MiB, 2 passes, 1 lane). */
export interface PasswordHashingOptions {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export type ApiConfig = Pick<
  ApiEnv,
  "PUBLIC_URL" | "SESSION_IDLE_MINUTES" | "SESSION_ABSOLUTE_HOURS" | "PSEUDONYM_KEY" | "NODE_ENV"
> &
  /** The built web console, served at / when set; its map tiles come from TILE_URL. */
  Partial<Pick<ApiEnv, "WEB_DIST_DIR" | "TILE_URL">> &
  /** Alarms: how long an alarm keeps its device tracking (default 60 minutes). */
  Partial<Pick<ApiEnv, "ALARM_TRACKING_MINUTES">> &
  /** Public endpoints' limit per address and minute (default 300; 0: off). */
  Partial<Pick<ApiEnv, "PUBLIC_RATE_LIMIT_PER_MINUTE">> &
  /** Networks outbound requests may reach although private or loopback (see outbound.ts). */
  Partial<Pick<ApiEnv, "OUTBOUND_ALLOW_NETWORKS">>;

export interface ApiDeps {
  pool: pg.Pool;
  logger: Logger;
  clock: Clock;
  config: ApiConfig;
  deviceCommands: DeviceCommandPublisher;
  /** Invitation and password-reset mails; without it they are logged (without the token) and dropped. */
  mailer?: Mailer;
  passwordHashing?: PasswordHashingOptions;
  /** Alert routing's SMS channel; without it SMS deliveries are recorded as skipped. */
  sms?: SmsSender;
  /** In-process events (alarm changed, console alerts) for live sockets; set by startApiServer. */
  bus?: Bus;
  /** Detected on first use when not given. */
  capabilities?: StorageCapabilities;
  /**
   * Activity-log keys and checkpoints. Without it rows are written with an
   * ephemeral key made at process start, and no checkpoints are written.
   */
  activityLog?: ActivityLogSetup;
  /** The guarded HTTP client for outbound requests; default: one built from config.OUTBOUND_ALLOW_NETWORKS. */
  outbound?: OutboundHttp;
  /** What /api/healthz checks beside the database: the live listener (set by startApiServer). */
  health?: { listener?: () => boolean };
  /** Prometheus metrics of this process (served apart from the API by startMetricsServer). */
  metrics?: ApiMetrics;
  /** The caller's address; default: the socket's remote address. */
  clientIp?: (req: { header(name: string): string | undefined; env: unknown }) => string | undefined;
}

export const OWASP_ARGON2ID: PasswordHashingOptions = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };
