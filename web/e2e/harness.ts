/**
 * What every end-to-end test needs: the stack started in-process on a fresh
 * database, a real Chromium driven by playwright-core, the API called directly
 * for setting up data, and devices that speak MQTT with their own credentials.
 */
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AlarmMessage,
  deviceCredentials,
  loadConfig,
  loginResponse,
  recipient,
  standaloneEnv,
  uplinkTopic,
} from "@vakt/schemas";
import { freePort } from "@vakt/storage";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import mqtt, { type MqttClient } from "mqtt";
import pino from "pino";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { z } from "zod";
import { type RunningStack, startStack } from "../../standalone/src/stack";

export const PASSWORD = "correct horse battery staple";
export const RESULTS_DIR = join(import.meta.dirname, "../test-results");

export interface Harness {
  url: string;
  mqttUrl: string;
  browser: Browser;
  db: TestDatabase;
  /** What `npm start` prints for logging in as the demo administrator. */
  demoLogin: RunningStack["demoLogin"];
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** Keep the second factor the seed enrols for administrators (other suites log in by password only). */
  keepSeededSecondFactor?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), "vakt-web-e2e-"));
  const mqttPort = await freePort();
  const config = loadConfig(standaloneEnv, {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    API_PORT: String(await freePort()),
    MQTT_PORT: String(mqttPort),
    INGEST_HTTP_PORT: String(await freePort()),
    SIM_DEVICES: "6",
    DEMO_ADMIN_PASSWORD: PASSWORD,
    // No internet here: tiles from a port nobody listens on, so the map shows a blank background.
    TILE_URL: "http://127.0.0.1:9/{z}/{x}/{y}.png",
    LOG_LEVEL: "silent",
    // The test identity provider runs on this machine: the site allows loopback explicitly.
    OUTBOUND_ALLOW_NETWORKS: "127.0.0.1/32",
  });
  let stack: RunningStack | undefined;
  let browser: Browser | undefined;
  try {
    stack = await startStack(config, pino({ level: "silent" }));
    // The demo organisation requires a second factor of its administrators (the seed enrols them);
    // these tests log in by password as every role, so they switch that off for their own database.
    if (!options.keepSeededSecondFactor) {
      await db.pool.query("UPDATE organisations SET require_admin_second_factor = false");
      await db.pool.query("UPDATE staff_users SET totp_secret = NULL, totp_enabled_at = NULL");
    }
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
      ],
    });
  } catch (err) {
    await stack?.stop();
    await db.drop();
    throw err;
  }
  await mkdir(RESULTS_DIR, { recursive: true });
  const running = stack;
  const b = browser;
  return {
    url: running.consoleUrl,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    browser: b,
    db,
    demoLogin: running.demoLogin,
    async stop() {
      await b.close();
      await running.stop();
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const demoEmail = (key: string) => `${key}@demo.vakt.local`;

/** A logged-in API session for setting up data from the test (not through the console). */
export async function apiSession(url: string, email: string) {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: url },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (!res.ok) throw new Error(`login ${email}: ${res.status}`);
  const session = loginResponse.parse(await res.json());
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  async function call<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown) {
    const r = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: {
        cookie,
        origin: url,
        "x-csrf-token": session.csrfToken,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return schema.parse(text ? JSON.parse(text) : undefined) as z.infer<S>;
  }
  return { call };
}

export type ApiSession = Awaited<ReturnType<typeof apiSession>>;

export interface TestDevice {
  serial: string;
  deviceId: string;
  recipientId: string;
  name: string;
  client: MqttClient;
  position(lat: number, lon: number): Promise<void>;
  /** Raises an alarm; answers the message id, which a cancel names. */
  alarm(type: AlarmMessage["type"], lat: number, lon: number): Promise<string>;
  /** The wearer cancels the alarm raised by message `messageId` (a fall within its window). */
  cancel(messageId: string): Promise<void>;
}

/** A recipient with a freshly provisioned device in the department, connected over MQTT. */
export async function recipientWithDevice(
  h: Harness,
  admin: ApiSession,
  departmentId: string,
  firstName: string,
  lastName: string,
): Promise<TestDevice> {
  const r = await admin.call("POST", "/recipients", recipient, {
    departmentId,
    firstName,
    lastName,
    legalBasis: "consent",
    responderNotes: "Nøkkel i nøkkelboks",
  });
  const serial = `E2E-${randomUUID().slice(0, 8)}`;
  const creds = await admin.call("POST", "/devices", deviceCredentials, { departmentId, serial });
  if (creds.protocol === "osmand") throw new Error("expected an MQTT device");
  await admin.call("PUT", `/devices/${creds.device.id}/recipient`, z.unknown(), { recipientId: r.id });
  // npm start's Mosquitto learns a new device when its password file is rewritten and reloaded, a
  // moment after the API answered; a real device retries, and so does this one (for up to 10 s).
  const client = await connectDevice(h.mqttUrl, {
    username: creds.mqttUsername,
    password: creds.mqttPassword,
    clientId: serial,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  const fix = (lat: number, lon: number) => ({
    t: Date.now(),
    lat,
    lon,
    accM: 15,
    source: "gps",
    batteryPct: 77,
  });
  return {
    serial,
    deviceId: creds.device.id,
    recipientId: r.id,
    name: `${firstName} ${lastName}`,
    client,
    async position(lat, lon) {
      await client.publishAsync(
        uplinkTopic(serial, "position"),
        JSON.stringify({ v: 1, id: randomUUID(), fix: fix(lat, lon) }),
        { qos: 1 },
      );
    },
    async alarm(type, lat, lon) {
      const id = randomUUID();
      await client.publishAsync(
        uplinkTopic(serial, "alarm"),
        JSON.stringify({ v: 1, id, t: Date.now(), type, fix: fix(lat, lon) }),
        { qos: 1 },
      );
      return id;
    },
    async cancel(messageId) {
      await client.publishAsync(
        uplinkTopic(serial, "alarm"),
        JSON.stringify({ v: 1, id: randomUUID(), t: Date.now(), type: "fall", cancels: messageId }),
        { qos: 1 },
      );
    },
  };
}

async function connectDevice(url: string, options: mqtt.IClientOptions): Promise<MqttClient> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await mqtt.connectAsync(url, options);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function newPage(h: Harness): Promise<{ context: BrowserContext; page: Page }> {
  const context = await h.browser.newContext({ viewport: { width: 1400, height: 900 }, locale: "nb-NO" });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return { context, page };
}

/** A page whose context ignores the console's CSP, which rightly refuses the injected axe-core otherwise. */
export async function newAuditPage(h: Harness): Promise<{ context: BrowserContext; page: Page }> {
  const context = await h.browser.newContext({
    viewport: { width: 1400, height: 900 },
    locale: "nb-NO",
    bypassCSP: true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return { context, page };
}

/** Every WCAG 2 A/AA violation axe-core finds inside `selector` (the whole page by default), a line each. */
export async function axeViolations(page: Page, selector = "body"): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async (include) => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            c: unknown,
            o: unknown,
          ): Promise<{ violations: { id: string; nodes: { target: string[]; failureSummary: string }[] }[] }>;
        };
      }
    ).axe;
    return axe.run({ include: [include] }, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
  }, selector);
  return result.violations.flatMap((v) =>
    v.nodes.map(
      (n) => `${selector} ${v.id}: ${n.target.join(" ")}: ${n.failureSummary.replace(/\s+/g, " ")}`,
    ),
  );
}

/** Logs in through the console's login form. */
export async function logIn(h: Harness, page: Page, email: string, path: string | "" = "/") {
  // An empty path logs in on the page as it is (the login form shown after a session ended).
  if (path) await page.goto(`${h.url}${path}`);
  await waitForLoginForm(h, page);
  await page.getByLabel(/E-post|E-mail/).fill(email);
  await page.getByLabel(/^(Passord|Password)$/).fill(PASSWORD);
  // Exactly the password button: single sign-on buttons read "Logg inn med …".
  await page.getByRole("button", { name: /^(Logg inn|Log in)$/ }).click();
  // The password hash (argon2id) and the lazy shell's chunks: on a CI machine running the hostile
  // lab beside this suite, 15 s was not always enough. When it never comes, say what the page shows.
  try {
    await page.locator(".topbar").waitFor({ timeout: 45_000 });
  } catch (error) {
    const shown = (
      await page
        .locator("body")
        .innerText()
        .catch(() => "?")
    ).slice(0, 400);
    throw new Error(
      `no console after logging in as ${email} at ${page.url()}; the page shows ${JSON.stringify(shown)}`,
      {
        cause: error,
      },
    );
  }
  await expectSessionCookieReachesLive(page.context());
}

/**
 * The login form appears once the console has asked /auth/me. On a loaded CI
 * machine that can take a while; when it never comes, the error says what the
 * page showed and how the API answered, so a failure can be told from a stall.
 */
async function waitForLoginForm(h: Harness, page: Page): Promise<void> {
  const field = page.getByLabel(/E-post|E-mail/);
  // Requests the page started and that have not ended: what a blank page is waiting for.
  const pending = new Map<object, string>();
  const started = (r: { url(): string }) => pending.set(r, r.url().replace(h.url, ""));
  const ended = (r: object) => pending.delete(r);
  page.on("request", started);
  page.on("requestfinished", ended);
  page.on("requestfailed", ended);
  try {
    await field.waitFor({ timeout: 20_000 });
  } catch (first) {
    // Seen twice in CI (2026-12-03): a first load that drew nothing at all (not even the
    // dictionary's fallback). Said in the log with what it waited for, then one reload; a page
    // that stays blank fails below. Known and open: see the closing note of that day.
    const blank =
      (
        await page
          .locator("body")
          .innerText()
          .catch(() => "?")
      ).trim() === "";
    if (!blank) throw await noLoginForm(h, page, first);
    console.warn(`blank first load at ${page.url()}; pending: ${JSON.stringify([...pending.values()])}`);
    await page.reload();
    try {
      await field.waitFor({ timeout: 30_000 });
    } catch (error) {
      throw await noLoginForm(h, page, error);
    }
  } finally {
    page.off("request", started);
    page.off("requestfinished", ended);
    page.off("requestfailed", ended);
  }
}

/** What the page showed and how the API answered, so a failure can be told from a stall. */
async function noLoginForm(h: Harness, page: Page, cause: unknown): Promise<Error> {
  const shown = (
    await page
      .locator("body")
      .innerText()
      .catch(() => "?")
  ).slice(0, 400);
  const started = Date.now();
  const me = await fetch(`${h.url}/api/v1/auth/me`, { signal: AbortSignal.timeout(10_000) })
    .then((r) => `${r.status}`)
    .catch((e: unknown) => String(e));
  return new Error(
    `no login form at ${page.url()}; the page shows ${JSON.stringify(shown)}; ` +
      `GET /auth/me from the test answered ${me} in ${Date.now() - started} ms`,
    { cause },
  );
}

/**
 * The live connection (/socket.io) authenticates with the session cookie, so
 * the browser must send it there: a cookie scoped to /api would leave the
 * console without live updates while every HTTP call still worked.
 */
export async function expectSessionCookieReachesLive(context: BrowserContext): Promise<void> {
  const session = (await context.cookies()).find((c) => c.name === "vakt_session");
  if (!session) throw new Error("no session cookie after login");
  if (!"/socket.io/".startsWith(session.path)) {
    throw new Error(`session cookie path ${session.path} does not cover /socket.io`);
  }
}

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/**
 * WCAG AA colour-contrast violations on the page as axe-core sees them, one
 * line per element. The page's context must bypass CSP (the console rightly
 * refuses injected scripts).
 */
export async function contrastViolations(page: Page, where: string): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(o: unknown): Promise<{
            violations: { id: string; nodes: { target: string[]; failureSummary: string }[] }[];
          }>;
        };
      }
    ).axe;
    return axe.run({ runOnly: { type: "rule", values: ["color-contrast"] } });
  });
  return result.violations.flatMap((v) =>
    v.nodes.map((n) => `${where}: ${n.target.join(" ")}: ${n.failureSummary.split("\n").slice(1).join(" ")}`),
  );
}

export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(RESULTS_DIR, `${name}.png`) });
}

/** Polls until `probe` returns a value (for state reached through MQTT and the database). */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  ms = 15_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`${what}: not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
