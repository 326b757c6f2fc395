/**
 * The production build as a site runs it, without Docker: api and ingest built to JavaScript
 * (`npm run build`), installed with production dependencies only (`npm ci --omit=dev`) in a
 * folder of their own, and started with `node` as the separate processes of docker-compose.yml,
 * with the environment compose gives them (read from the file, so the two cannot drift): the
 * broker-auth step writing Mosquitto's credentials, Mosquitto from PATH with the shipped
 * configuration, the API, ingest, on PostgreSQL as the least-privilege runtime role. A device
 * provisioned through the API publishes with a real MQTT client (mosquitto_pub); ingest is
 * stopped with SIGTERM in the middle of a stream and nothing is lost.
 *
 * What differs from compose, and why: host names and ports (every listener takes a free port on
 * 127.0.0.1; the machine's 1883 is taken), the database (a throw-away one; its owner replaces
 * compose's `vakt`, and the runtime role gets a unique name because roles are cluster-wide), and
 * paths (/mosquitto/auth, the checkpoint file) under a temporary folder. Mosquitto is reloaded
 * with SIGHUP when its files change, which is what ingest/mosquitto/run-with-reload.sh does.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shippedConfigFor } from "@vakt/ingest/testing";
import { freePort } from "@vakt/storage";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import { io as ioClient } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeEnv, composeServices, repoRoot } from "./compose";
import { containerRunArgs, healthcheck, imageModeFromEnv, inImage, removeContainer } from "./containers";

/** Development tools that must not be installed in production, and their commands. */
const DEV_TOOLS = [
  "vitest",
  "tsx",
  "@biomejs/biome",
  "playwright-core",
  "esbuild",
  "vite",
  "turbo",
  "fast-check",
];
const DEV_BINS = ["tsx", "vitest", "biome", "vite", "esbuild"];

const WORKSPACES = ["schemas", "storage", "ingest", "api", "web", "devices", "standalone"];

/** An operator's .env: a valid value for every secret compose requires. */
const siteEnv: Record<string, string> = {
  POSTGRES_PASSWORD: "unused-the-test-database-has-its-own-owner",
  POSTGRES_RUNTIME_PASSWORD: randomBytes(9).toString("hex"),
  ACTIVITY_LOG_KEYS: `k1:${randomBytes(32).toString("base64")}`,
  ACTIVITY_CHECKPOINT_KEY: "MC4CAQAwBQYDK2VwBCIEIFcJ/bjgfpKhVKurkIIraUXY/SW/6X+oeSR91PlReUZE",
  MQTT_SERVICE_PASSWORD: randomBytes(9).toString("hex"),
  PUBLIC_URL: "https://vakt.example.kommune.no",
  PSEUDONYM_KEY: randomBytes(24).toString("hex"),
};

interface Proc {
  name: string;
  /** The container's name when the service runs from its image. */
  container?: string | undefined;
  child: ChildProcess;
  out: string[];
  exited: Promise<number | null>;
}

/** Set by tools/image-check.sh: the services run as containers of the built images. */
const images = imageModeFromEnv();
const containers: string[] = [];
/** Compose's `user:` for the services that set one. */
const composeUser: Record<string, string> = { "broker-auth": "root" };

const procs: Proc[] = [];
function start(name: string, args: string[], env: Record<string, string>, cwd: string): Proc {
  const container = images?.imageFor(name)
    ? `vakt-smoke-${name}-${randomBytes(3).toString("hex")}`
    : undefined;
  if (container) containers.push(container);
  const [command, ...rest] =
    images && container
      ? [
          images.engine[0] as string,
          ...containerRunArgs(images, {
            service: name,
            name: container,
            command: args,
            env,
            mount: work,
            ...(composeUser[name] ? { user: composeUser[name] } : {}),
          }),
        ]
      : (args as [string, ...string[]]);
  const child = spawn(command as string, rest, {
    cwd,
    // Nothing of the test's own environment (NODE_OPTIONS, tsx loaders): only what compose gives.
    // A container gets exactly that through --env; the engine itself runs with the host's.
    env: container ? process.env : { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: string[] = [];
  const keep = (b: Buffer) => out.push(...b.toString().split("\n").filter(Boolean));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const p = { name, child, out, exited, container };
  procs.push(p);
  return p;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const ok = async (url: string) => ((await fetch(url)).status === 200 ? true : undefined);

async function stop(p: Proc): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGTERM");
  return p.exited;
}

let prod: string;
let work: string;
let db: TestDatabase;
let install = { seconds: 0, packages: 0 };
const role = `vakt_rt_${randomBytes(5).toString("hex")}`;

beforeAll(async () => {
  const built = spawnSync("npm", ["run", "build", "-w", "@vakt/api", "-w", "@vakt/ingest"], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  expect(built.status, built.stderr).toBe(0);
  prod = await mkdtemp(join(tmpdir(), "vakt-prod-"));
  await cp(join(repoRoot, "package.json"), join(prod, "package.json"));
  await cp(join(repoRoot, "package-lock.json"), join(prod, "package-lock.json"));
  for (const w of WORKSPACES) {
    await mkdir(join(prod, w));
    await cp(join(repoRoot, w, "package.json"), join(prod, w, "package.json"));
  }
  const started = performance.now();
  const ci = spawnSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], {
    cwd: prod,
    encoding: "utf8",
    env: { ...process.env, NODE_ENV: "production" },
  });
  expect(ci.status, ci.stderr).toBe(0);
  install = {
    seconds: Math.round((performance.now() - started) / 100) / 10,
    packages: Number(/added (\d+) packages/.exec(ci.stdout)?.[1] ?? 0),
  };
  for (const pkg of ["api", "ingest"])
    await cp(join(repoRoot, pkg, "dist"), join(prod, pkg, "dist"), { recursive: true });
  work = await mkdtemp(join(tmpdir(), "vakt-prod-run-"));
  // The images run as their unprivileged node user, which writes the checkpoint file here.
  if (images) await chmod(work, 0o777);
  db = await createTestDatabase({ applyMigrations: false });
}, 300_000);

afterAll(async () => {
  for (const p of procs.reverse()) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  }
  // Killing `podman run` leaves its container running.
  for (const c of containers) if (images) removeContainer(images, c);
  await db?.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
  await db?.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
  await db?.drop();
  if (prod) await rm(prod, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the production build", () => {
  it("is installed without devDependencies and without tsx", async () => {
    console.log(`npm ci --omit=dev: ${install.packages} packages in ${install.seconds} s`);
    const manifests = [
      JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")),
      ...(await Promise.all(
        WORKSPACES.map(async (w) => JSON.parse(await readFile(join(repoRoot, w, "package.json"), "utf8"))),
      )),
    ] as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> }[];
    const prodDeps = new Set(manifests.flatMap((m) => Object.keys(m.dependencies ?? {})));
    const devOnly = [...new Set(manifests.flatMap((m) => Object.keys(m.devDependencies ?? {})))].filter(
      (d) => !prodDeps.has(d) && !d.startsWith("@vakt/"),
    );
    expect(devOnly).toEqual(
      expect.arrayContaining(["vitest", "tsx", "typescript", "@biomejs/biome", "playwright-core"]),
    );
    // Present only as what a production dependency itself requires (graphile-worker's cosmiconfig
    // peers on typescript, @types/pg comes with graphile-worker), never because we asked for it.
    for (const d of devOnly) {
      if (spawnSync("test", ["-e", join(prod, "node_modules", d)]).status !== 0) continue;
      const tree = JSON.parse(
        spawnSync("npm", ["ls", d, "--omit=dev", "--all", "--json"], { cwd: prod, encoding: "utf8" }).stdout,
      ) as { dependencies?: Record<string, { dependencies?: Record<string, unknown> }> };
      const direct = Object.entries(tree.dependencies ?? {}).filter(
        ([name, node]) => name === d || (name.startsWith("@vakt/") && node.dependencies?.[d] !== undefined),
      );
      expect(
        direct.map(([name]) => name),
        d,
      ).toEqual([]);
    }
    for (const d of DEV_TOOLS)
      expect(spawnSync("test", ["-e", join(prod, "node_modules", d)]).status, d).not.toBe(0);
    for (const tool of DEV_BINS)
      expect(spawnSync("test", ["-e", join(prod, "node_modules", ".bin", tool)]).status, tool).not.toBe(0);
    // The images (tools/image-check.sh): the same inside each, its bundle there, its user not root.
    for (const service of images ? ["api", "ingest"] : []) {
      const paths = [
        ...DEV_TOOLS.map((d) => `node_modules/${d}`),
        ...DEV_BINS.map((t) => `node_modules/.bin/${t}`),
      ];
      const r = inImage(
        images as NonNullable<typeof images>,
        images?.imageFor(service) as string,
        `id -un; for p in ${paths.join(" ")}; do test -e "/app/$p" && echo "present $p"; done; ` +
          `test -f /app/${service}/dist/main.js && echo bundle; test -f /app/web/dist/index.html && echo console; true`,
      );
      expect(r.status, `${r.out}${r.stderr ?? ""}`).toBe(0);
      expect(r.out.trim().split("\n"), service).toEqual(["node", "bundle", "console"]);
    }
    // The bundles import no development tool.
    for (const file of [
      "api/dist/main.js",
      "ingest/dist/main.js",
      "ingest/dist/alarm-lane-worker.js",
      "ingest/dist/mosquitto-files.js",
    ]) {
      const code = await readFile(join(prod, file), "utf8");
      expect(code, file).not.toMatch(/from ["'](tsx|vitest|typescript|esbuild)["']/);
    }
  });

  it("runs the compose topology as processes: a device message end to end, SIGTERM drains with exit 0", async () => {
    const services = composeServices();
    const [servicePort, devicePort, apiPort, metricsPort, ingestPort, ingestMetricsPort] = (await uniquePorts(
      6,
    )) as [number, number, number, number, number, number];
    const authDir = join(work, "auth");
    await mkdir(join(authDir, "data"), { recursive: true });
    const owner = db.url;
    const runtime = new URL(db.url);
    runtime.username = role;
    runtime.password = siteEnv.POSTGRES_RUNTIME_PASSWORD as string;

    /** A service's compose environment, pointed at this machine's parts. */
    const envFor = (service: string) => {
      const env = composeEnv(service, siteEnv);
      for (const [k, v] of Object.entries(env)) {
        if (v.startsWith("postgres://")) {
          const u = new URL(v);
          expect(u.host, `${service} ${k}`).toBe("timescaledb:5432");
          env[k] = u.username === "vakt_runtime" ? runtime.toString() : owner;
        }
        if (v.startsWith("mqtt://")) {
          expect(new URL(v).host, `${service} ${k}`).toBe("mosquitto:1884");
          env[k] = `mqtt://127.0.0.1:${servicePort}`;
        }
      }
      return env;
    };

    // broker-auth: migrations as the owner, the runtime role, Mosquitto's files.
    const authCommand = (services["broker-auth"]?.command ?? []).map((a) =>
      a === "/mosquitto/auth" ? authDir : a,
    );
    expect(authCommand.slice(0, 2)).toEqual(["node", "ingest/dist/mosquitto-files.js"]);
    // --owner makes the files readable by the image's mosquitto user; here the broker reads them as us.
    const ownerAt = authCommand.indexOf("--owner");
    if (ownerAt >= 0) authCommand.splice(ownerAt, 2);
    const brokerAuth = start("broker-auth", authCommand, envFor("broker-auth"), prod);
    await waitFor("broker-auth files", async () => {
      for (const f of ["passwd", "passwd-services", "acl"])
        if ((await readFile(join(authDir, f), "utf8")) === "") return;
      return true;
    });

    // Mosquitto with the shipped configuration (ports and paths moved).
    const conf = join(work, "mosquitto.conf");
    await writeFile(
      conf,
      await shippedConfigFor(authDir, { service: servicePort, device: devicePort }, { passwd: "", acl: "" }),
    );
    const mosquitto = start("mosquitto", ["mosquitto", "-c", conf], {}, work);
    // Its log goes to a pipe, block-buffered: wait for the listeners instead.
    await waitFor("mosquitto listening", async () =>
      (await listening(servicePort)) && (await listening(devicePort)) ? true : undefined,
    );

    const apiEnv = {
      ...envFor("api"),
      API_PORT: String(apiPort),
      API_HOST: "127.0.0.1",
      API_METRICS_PORT: String(metricsPort),
      API_METRICS_HOST: "127.0.0.1",
      ACTIVITY_CHECKPOINT_FILE: join(work, "checkpoints.jsonl"),
    };
    const api = start("api", ["node", "api/dist/main.js"], apiEnv, prod);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitFor("api healthz", () => ok(`${apiUrl}/api/healthz`));

    const ingestEnv = {
      ...envFor("ingest"),
      INGEST_HTTP_PORT: String(ingestPort),
      INGEST_METRICS_PORT: String(ingestMetricsPort),
      INGEST_METRICS_HOST: "127.0.0.1",
      INGEST_HTTP_HOST: "127.0.0.1",
    };
    let ingest = start("ingest", ["node", "ingest/dist/main.js"], ingestEnv, prod);
    const ingestUrl = `http://127.0.0.1:${ingestPort}`;
    await waitFor("ingest healthz", () => ok(`${ingestUrl}/healthz`));

    // Runs as the least-privilege role, never the owner.
    const seen = await db.pool.query<{ usename: string; rolsuper: boolean }>(
      `SELECT DISTINCT a.usename, r.rolsuper FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename
        WHERE a.datname = current_database() AND a.application_name IN ('vakt-api', 'vakt-ingest')`,
    );
    expect(seen.rows).toEqual([{ usename: role, rolsuper: false }]);

    // An organisation (the operator's CLI, from the build), its administrator, a device.
    const created = spawnSync(
      "node",
      [
        "api/dist/create-organisation.js",
        "--name",
        "Smoke kommune",
        "--slug",
        `smoke-${randomBytes(3).toString("hex")}`,
        "--admin-email",
        "admin@smoke.example.org",
        "--admin-first-name",
        "Anne",
        "--admin-last-name",
        "Admin",
        "--allow-without-second-factor",
      ],
      { cwd: prod, encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...apiEnv } },
    );
    expect(created.status, created.stderr).toBe(0);
    const token = /#token=([A-Za-z0-9_-]+)/.exec(created.stdout)?.[1] as string;
    const http = session(apiUrl, siteEnv.PUBLIC_URL as string);
    const password = "a long and unguessable smoke-test passphrase";
    expect((await http.post("/api/v1/auth/invitations/accept", { token, password })).status).toBe(204);
    expect(
      (await http.post("/api/v1/auth/login", { email: "admin@smoke.example.org", password })).status,
    ).toBe(200);
    const depts = await http.get("/api/v1/departments");
    let departmentId = (depts.body as { id: string }[])[0]?.id;
    if (!departmentId) {
      const d = await http.post("/api/v1/departments", { name: "Hjemmetjenesten", parentId: null });
      departmentId = (d.body as { id: string }).id;
    }
    const serial = `SMOKE${randomBytes(3).toString("hex")}`;
    const provisioned = await http.post("/api/v1/devices", { departmentId, serial });
    expect(provisioned.status, JSON.stringify(provisioned.body)).toBe(201);
    const creds = provisioned.body as { mqttUsername: string; mqttPassword: string; device: { id: string } };

    // broker-auth rewrites the files on the provisioning; the broker reloads them (run-with-reload.sh).
    await waitFor("device in passwd", async () =>
      (await readFile(join(authDir, "passwd"), "utf8")).includes(`${serial}:`) ? true : undefined,
    );
    mosquitto.child.kill("SIGHUP");

    const send = (kind: string, messages: unknown[]) =>
      spawnSync(
        "mosquitto_pub",
        [
          "-h",
          "127.0.0.1",
          "-p",
          String(devicePort),
          "-u",
          creds.mqttUsername,
          "-P",
          creds.mqttPassword,
          "-i",
          serial,
          "-q",
          "1",
          "-t",
          `vakt/v1/d/${serial}/up/${kind}`,
          "-l",
        ],
        { input: `${messages.map((m) => JSON.stringify(m)).join("\n")}\n`, encoding: "utf8" },
      );
    const publish = (kind: string, messages: unknown[]) => {
      const r = send(kind, messages);
      expect(r.status, r.stderr).toBe(0);
    };
    // Two hours back: the stream's last fix is still in the past (a future one is a dead letter).
    const t0 = Date.now() - 2 * 3_600_000;
    const fixAt = (i: number) => ({ t: t0 + i * 1_000, lat: 60.39 + i / 10_000, lon: 5.32, accM: 8 });
    // Refused until the broker has re-read its passwd file.
    await waitFor("device accepted by the broker", async () =>
      send("position", [{ v: 1, id: "p-0", fix: fixAt(0) }]).status === 0 ? true : undefined,
    );
    // The alarm reaches a console's socket (socket.io, the session cookie) and the alarm list.
    const socket = ioClient(apiUrl, {
      path: "/socket.io",
      transports: ["websocket"],
      reconnection: false,
      extraHeaders: { cookie: http.cookie(), origin: siteEnv.PUBLIC_URL as string },
    });
    const live = new Promise<{ type: string }>((resolve) => socket.on("alarm:new", resolve));
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    publish("alarm", [{ v: 1, id: "a-1", t: Date.now() - 1_000, type: "sos", fix: fixAt(1) }]);
    expect((await live).type).toBe("sos");
    socket.close();
    const stored = async () =>
      Number(
        (await db.pool.query("SELECT count(*) FROM positions WHERE device_id = $1", [creds.device.id]))
          .rows[0].count,
      );
    await waitFor("first position stored", async () => ((await stored()) >= 1 ? true : undefined));
    const alarms = await waitFor("alarm visible through the API", async () => {
      const list = (await http.get("/api/v1/alarms")).body as {
        items: { type: string; device?: { id: string } }[];
      };
      return list.items?.some((a) => a.type === "sos") ? list.items : undefined;
    });
    expect(alarms.length).toBeGreaterThanOrEqual(1);

    // A phone with the Traccar Client app: an OsmAnd fix with curl, on ingest's HTTP port.
    const phone = await http.post("/api/v1/devices", {
      departmentId,
      serial: `${serial}P`,
      protocol: "osmand",
    });
    expect(phone.status, JSON.stringify(phone.body)).toBe(201);
    const osmand = phone.body as { osmandDeviceId: string; device: { id: string } };
    const query = `id=${encodeURIComponent(osmand.osmandDeviceId)}&lat=60.3913&lon=5.3221&timestamp=${Math.floor(t0 / 1000)}&accuracy=12`;
    const curl = spawnSync(
      "curl",
      ["-s", "-o", "/dev/null", "-w", "%{http_code}", `${ingestUrl}/?${query}`],
      {
        encoding: "utf8",
      },
    );
    expect(curl.stdout).toBe("200");
    const phoneRows = await db.pool.query("SELECT lat, lon FROM positions WHERE device_id = $1", [
      osmand.device.id,
    ]);
    expect(phoneRows.rows).toHaveLength(1);

    // A stream, and SIGTERM to ingest in its middle: it drains and exits 0; a new ingest takes the rest.
    const N = 3_000;
    const stream = Array.from({ length: N }, (_, i) => ({ v: 1, id: `s-${i}`, fix: fixAt(10 + i) }));
    await writeFile(join(work, "stream"), `${stream.map((m) => JSON.stringify(m)).join("\n")}\n`);
    const base = await stored();
    const publisher = start(
      "mosquitto_pub",
      [
        "sh",
        "-c",
        `mosquitto_pub -h 127.0.0.1 -p ${devicePort} -u "$U" -P "$P" -i "$U" -q 1 -t "$T" -l < "$F"`,
      ],
      {
        U: creds.mqttUsername,
        P: creds.mqttPassword,
        T: `vakt/v1/d/${serial}/up/position`,
        F: join(work, "stream"),
      },
      work,
    );
    const before = await waitFor("stream under way", async () => {
      const n = (await stored()) - base;
      return n >= 50 ? n : undefined;
    });
    const code = stop(ingest);
    expect(await code, ingest.out.slice(-20).join("\n")).toBe(0);
    const atStop = (await stored()) - base;
    expect(await publisher.exited, publisher.out.join("\n")).toBe(0);
    console.log(`SIGTERM to ingest with ${before} of ${N} stored; ${atStop} when it exited`);
    expect(ingest.out.join("\n")).not.toMatch(/"level":(50|60)/);
    ingest = start("ingest", ["node", "ingest/dist/main.js"], ingestEnv, prod);
    await waitFor("every position of the stream stored", async () =>
      (await stored()) === base + N ? true : undefined,
    ).catch(async (err) => {
      const dl = await db.pool.query("SELECT reason, count(*) FROM dead_letters GROUP BY 1");
      throw new Error(
        `${err.message}: ${(await stored()) - base} of ${N}; dead letters ${JSON.stringify(dl.rows)}\n` +
          `first ingest:\n${procs
            .filter((p) => p.name === "ingest")[0]
            ?.out.slice(-15)
            .join("\n")}\n` +
          `second ingest:\n${ingest.out.slice(-15).join("\n")}`,
      );
    });
    const dead = await db.pool.query("SELECT reason FROM dead_letters WHERE device_id = $1", [
      creds.device.id,
    ]);
    expect(dead.rows).toEqual([]);
    // CI runs this against the real TimescaleDB too, where the stream went into a hypertable.
    if (process.env.TEST_TIMESCALEDB_EXPECT === "preloaded") {
      const hyper = await db.pool.query(
        "SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_name = 'positions'",
      );
      expect(hyper.rows).toHaveLength(1);
    }

    // Health on the paths the Dockerfile probes (read from it), and metrics.
    const probes = probePaths();
    expect(probes).toEqual({ api: "/api/healthz", ingest: "/healthz" });
    const health = await fetch(`${apiUrl}${probes.api}`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, database: "ok", listener: "ok" });
    await waitFor("ingest healthy again", () => ok(`${ingestUrl}${probes.ingest}`));
    // From the images: the engine runs each image's own HEALTHCHECK command, which must pass.
    for (const p of images ? [api, ingest] : []) {
      const verdict = healthcheck(images as NonNullable<typeof images>, p.container as string);
      expect(verdict.status, `${p.name} HEALTHCHECK: ${verdict.out}`).toBe(0);
    }
    expect(await (await fetch(`http://127.0.0.1:${ingestMetricsPort}/metrics`)).text()).toContain(
      "vakt_ingest_positions_stored_total",
    );
    // Never on the public ports: 404, or (the image serves the console there) the console's page.
    for (const url of [`${ingestUrl}/metrics`, `${apiUrl}/metrics`]) {
      const r = await fetch(url);
      expect(await r.text(), url).not.toMatch(/^# (HELP|TYPE) /m);
      expect([404, 200], url).toContain(r.status);
      if (r.status === 200) expect(r.headers.get("content-type"), url).toContain("text/html");
    }
    expect(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).toContain(
      "vakt_api_http_requests_total",
    );

    // Everything stops on SIGTERM with exit 0.
    for (const p of [ingest, api, brokerAuth])
      expect(await stop(p), `${p.name}\n${p.out.slice(-20).join("\n")}`).toBe(0);
    await stop(mosquitto);
  }, 240_000);
});

/** The path each image target's HEALTHCHECK asks for. */
function probePaths(): Record<string, string> {
  const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
  const out: Record<string, string> = {};
  for (const stage of dockerfile.split(/^(?=FROM )/m)) {
    const name = /^FROM \S+ AS (\S+)/.exec(stage)?.[1];
    const path = /^HEALTHCHECK[^\n]*(?:\\\n[^\n]*)*?'(\/[a-z/]*)'/m.exec(stage)?.[1];
    if (name && path) out[name] = path;
  }
  return out;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

async function uniquePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** A browser's part over plain HTTP: cookies (Secure ones too: PUBLIC_URL is https), CSRF, Origin. */
function session(base: string, origin: string) {
  const jar = new Map<string, string>();
  const request = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { origin };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const csrf = jar.get("vakt_csrf");
    if (csrf && method !== "GET") headers["x-csrf-token"] = csrf;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair = ""] = c.split(";");
      const [name = "", ...value] = pair.split("=");
      jar.set(name.trim(), value.join("="));
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed };
  };
  return {
    cookie: () => [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
    get: (path: string) => request("GET", path),
    post: (path: string, body: unknown) => request("POST", path, body),
  };
}
