/**
 * Test harness: a fresh migrated database, the app with a movable clock, a
 * recording device publisher and mailer (MQTT and SMTP are other tiers), and a
 * small HTTP client with a cookie jar that sends the CSRF header like the console.
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AckMessage,
  type CommandMessage,
  type ConfigMessage,
  type Downlink,
  deviceCommandPublisher,
  type OwntracksCommand,
  parseDeviceTopic,
  type RoleKey,
} from "@vakt/schemas";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import pino from "pino";
import {
  type ActivityLogSetup,
  activityLogFromConfig,
  formatSigningKey,
  generateSigningKey,
} from "../src/activity/chain";
import { createApp } from "../src/app";
import { hashPassword } from "../src/auth/secrets";
import type { ApiDeps, Mail, PasswordHashingOptions } from "../src/deps";
import { loggedDownlinks } from "../src/devices/commands";

export const TEST_HASHING: PasswordHashingOptions = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
export const PASSWORD = "correct horse battery staple";
export const TEST_CONFIG: ApiDeps["config"] = {
  PUBLIC_URL: "http://localhost:3000",
  SESSION_IDLE_MINUTES: 30,
  SESSION_ABSOLUTE_HOURS: 12,
  PSEUDONYM_KEY: "test-pseudonym-key-0123456789abcdef",
  NODE_ENV: "test",
  // The suites log in many users from one address; auth/rate-limit.int.test.ts turns it on.
  PUBLIC_RATE_LIMIT_PER_MINUTE: 0,
};

/** The activity log's configuration for a test run: fixed HMAC key, fresh signing key and checkpoint file. */
export function testActivityEnv() {
  return {
    ACTIVITY_LOG_KEYS: `test1:${Buffer.alloc(32, 1).toString("base64")}`,
    ACTIVITY_CHECKPOINT_KEY: formatSigningKey(generateSigningKey()),
    ACTIVITY_CHECKPOINT_FILE: join(tmpdir(), `vakt-checkpoints-${randomBytes(6).toString("hex")}.jsonl`),
  };
}

export interface Harness {
  db: TestDatabase;
  /** What ACTIVITY_* would be in the environment for these deps (for the verify-log CLI). */
  activityEnv: ReturnType<typeof testActivityEnv>;
  activityLog: ActivityLogSetup;
  deps: ApiDeps;
  app: ReturnType<typeof createApp>;
  clock: { now: Date; advance(ms: number): void };
  published: { serial: string; message: ConfigMessage }[];
  /** Commands (locate, track, stop_tracking) and alarm acks sent to devices. */
  commands: { serial: string; message: CommandMessage }[];
  /** What went to OwnTracks apps' `/cmd` topics. */
  owntracksCommands: { topic: string; message: OwntracksCommand }[];
  acks: { serial: string; message: AckMessage }[];
  /** Every downlink as the broker got it, in order. */
  downlinks: Downlink[];
  mails: Mail[];
  close(): Promise<void>;
}

export async function createHarness(overrides: Partial<ApiDeps> = {}): Promise<Harness> {
  const db = await createTestDatabase({ poolMax: 8 });
  const clock = {
    now: new Date("2026-03-02T10:00:00Z"),
    advance(ms: number) {
      this.now = new Date(this.now.getTime() + ms);
    },
  };
  const published: Harness["published"] = [];
  const downlinks: Downlink[] = [];
  const commands: Harness["commands"] = [];
  const acks: Harness["acks"] = [];
  const owntracksCommands: Harness["owntracksCommands"] = [];
  const mails: Mail[] = [];
  const activityEnv = testActivityEnv();
  const activityLog = activityLogFromConfig({ ...activityEnv, ACTIVITY_CHECKPOINT_INTERVAL_SECONDS: 3600 });
  const deps: ApiDeps = {
    pool: db.pool,
    logger: pino({ level: process.env.VAKT_TEST_LOG ?? "silent" }),
    clock: { now: () => clock.now },
    config: TEST_CONFIG,
    // The real downlink builders, recorded by topic as a broker would see them, and logged as sent.
    deviceCommands: deviceCommandPublisher(
      loggedDownlinks(
        async (d) => {
          const { topic, payload } = d;
          downlinks.push(d);
          const t = parseDeviceTopic(topic);
          const message = JSON.parse(payload);
          if (!t.ok) owntracksCommands.push({ topic, message });
          else if (t.kind === "config") published.push({ serial: t.serial, message });
          else if (t.kind === "command") commands.push({ serial: t.serial, message });
          else acks.push({ serial: t.serial, message });
        },
        db.pool,
        pino({ level: process.env.VAKT_TEST_LOG ?? "silent" }),
      ),
    ),
    mailer: {
      async send(mail) {
        mails.push(mail);
      },
    },
    passwordHashing: TEST_HASHING,
    clientIp: (req) => req.header("x-test-ip") ?? "192.0.2.1",
    activityLog,
    ...overrides,
  };
  const app = createApp(deps);
  return {
    db,
    activityEnv,
    activityLog,
    deps,
    app,
    clock,
    published,
    commands,
    acks,
    downlinks,
    owntracksCommands,
    mails,
    close: async () => {
      await rm(activityEnv.ACTIVITY_CHECKPOINT_FILE, { force: true });
      await db.drop();
    },
  };
}

export interface TestOrg {
  organisationId: string;
  slug: string;
  /** Two top-level departments, each with one sub-department. */
  departments: { a: string; a1: string; b: string; b1: string };
  users: Record<string, { id: string; email: string }>;
}

const unique = () => randomBytes(4).toString("hex");

/** An organisation with a small tree, built directly in SQL (setup, not the subject of tests). */
export async function createOrg(
  h: Harness,
  options: { requireAdminSecondFactor?: boolean } = {},
): Promise<TestOrg> {
  const slug = `org-${unique()}`;
  const { rows } = await h.db.pool.query<{ id: string }>(
    "INSERT INTO organisations (name, slug, require_admin_second_factor) VALUES ($1, $2, $3) RETURNING id",
    [`Test ${slug}`, slug, options.requireAdminSecondFactor ?? false],
  );
  const organisationId = rows[0]?.id as string;
  const dept = async (name: string, parent?: string) => {
    const r = await h.db.pool.query<{ id: string }>(
      `WITH fresh AS (SELECT gen_random_uuid() AS id)
       INSERT INTO departments (id, organisation_id, parent_id, name, ancestry)
       SELECT fresh.id, $1, $2::uuid, $3,
              coalesce((SELECT ancestry FROM departments WHERE id = $2::uuid), '{}') || fresh.id FROM fresh
       RETURNING id`,
      [organisationId, parent ?? null, name],
    );
    return r.rows[0]?.id as string;
  };
  const a = await dept("A");
  const a1 = await dept("A1", a);
  const b = await dept("B");
  const b1 = await dept("B1", b);
  return { organisationId, slug, departments: { a, a1, b, b1 }, users: {} };
}

/** Adds a user with a password and grants; returns its e-mail. */
export async function addUser(
  h: Harness,
  org: TestOrg,
  key: string,
  grants: { role: RoleKey; departmentId: string | null }[],
) {
  const email = `${key.replace(/[^a-z0-9]/gi, "")}-${unique()}@example.org`.toLowerCase();
  const hash = await hashPassword(PASSWORD, TEST_HASHING);
  const { rows } = await h.db.pool.query<{ id: string }>(
    `INSERT INTO staff_users (organisation_id, email, first_name, last_name, password_hash)
     VALUES ($1, $2, 'Test', $3, $4) RETURNING id`,
    [org.organisationId, email, key, hash],
  );
  const id = rows[0]?.id as string;
  for (const g of grants) {
    await h.db.pool.query(
      "INSERT INTO role_grants (organisation_id, user_id, role, department_id) VALUES ($1, $2, $3, $4)",
      [org.organisationId, id, g.role, g.departmentId],
    );
  }
  org.users[key] = { id, email };
  return { id, email };
}

export interface TestResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers loosely; their expectations assert the shape
  body: any;
}

/** A browser-like client: keeps cookies, sends the CSRF token on changes. */
export class Client {
  cookies = new Map<string, string>();
  bearer: string | undefined;
  ip = "192.0.2.10";
  constructor(private readonly h: Harness) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const h: Record<string, string> = { "x-test-ip": this.ip, ...headers };
    if (this.cookies.size > 0) h.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const csrf = this.cookies.get("vakt_csrf");
    const unsafe = !["GET", "HEAD"].includes(method);
    // Browsers send Origin on every non-GET fetch.
    if (unsafe && !this.bearer) h.origin = "http://localhost:3000";
    if (csrf && unsafe && !("x-csrf-token" in headers)) h["x-csrf-token"] = csrf;
    if (this.bearer) h.authorization = `Bearer ${this.bearer}`;
    if (body !== undefined) h["content-type"] = "application/json";
    const res = await this.h.app.request(path, {
      method,
      headers: h,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(";");
      const [name, ...rest] = (pair ?? "").split("=");
      if (!name) continue;
      const value = rest.join("=");
      if (value === "" || attrs.some((a) => /max-age=0\b/i.test(a.trim()))) this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    // biome-ignore lint/suspicious/noExplicitAny: see TestResponse.body
    return { status: res.status, headers: res.headers, body: parsed as any } satisfies TestResponse;
  }
  get = (path: string) => this.request("GET", path);
  post = (path: string, body?: unknown) => this.request("POST", path, body ?? {});
  patch = (path: string, body: unknown) => this.request("PATCH", path, body);
  put = (path: string, body: unknown) => this.request("PUT", path, body);
  delete = (path: string) => this.request("DELETE", path);

  async login(email: string, password = PASSWORD) {
    const res = await this.post("/api/v1/auth/login", { email, password });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  }
}

export async function loggedIn(h: Harness, email: string) {
  const c = new Client(h);
  await c.login(email);
  return c;
}

/** A recipient with a device in a department, inserted directly. */
export async function addRecipient(h: Harness, org: TestOrg, departmentId: string, name = "Person") {
  const { rows } = await h.db.pool.query<{ id: string }>(
    `INSERT INTO recipients (organisation_id, department_id, first_name, last_name, birth_date, legal_basis)
     VALUES ($1, $2, $3, 'Testesen', '1940-05-06', 'consent') RETURNING id`,
    [org.organisationId, departmentId, name],
  );
  const recipientId = rows[0]?.id as string;
  const dev = await h.db.pool.query<{ id: string }>(
    `INSERT INTO devices (organisation_id, department_id, serial, recipient_id) VALUES ($1, $2, $3, $4) RETURNING id`,
    [org.organisationId, departmentId, `T-${randomBytes(6).toString("hex")}`, recipientId],
  );
  return { recipientId, deviceId: dev.rows[0]?.id as string };
}

/** `count` fixes every `stepS` seconds ending at `end`, around Oslo. */
export async function addPositions(
  h: Harness,
  org: TestOrg,
  r: { recipientId: string; deviceId: string },
  end: Date,
  count: number,
  stepS: number,
) {
  await h.db.pool.query(
    `INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m, source)
     SELECT $4::timestamptz - make_interval(secs => i * $5::int), $2, $1, $3, 'm' || i,
            59.9 + (i % 100) * 0.0001, 10.7 + (i % 50) * 0.0001, 8, 'gps'
       FROM generate_series(0, $6::int - 1) AS i`,
    [org.organisationId, r.deviceId, r.recipientId, end, stepS, count],
  );
  // Ingest keeps latest_positions in step; writing positions directly, the test must too.
  await h.db.pool.query("SELECT vakt_refresh_latest_positions(ARRAY[$1::uuid])", [r.deviceId]);
}

/** Polls `check` until it holds, failing with `what` after `ms` (state reached through other processes). */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 20_000,
  pollMs = 50,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited in vain for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
