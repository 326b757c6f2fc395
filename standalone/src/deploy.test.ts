/**
 * Docker does not run here, so the production deployment is checked as data:
 * every service's environment satisfies that process's configuration schema,
 * hosts and ports line up between services, and nothing runs without a
 * healthcheck and a restart policy.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { apiEnv, ingestEnv, loadConfig, standaloneEnv } from "@vakt/schemas";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { interpolate } from "./compose";

const root = join(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(join(root, file), "utf8");

const composeFile = z.object({
  services: z.record(
    z.string(),
    z.object({
      image: z.string().optional(),
      build: z.object({ context: z.string(), target: z.string() }).optional(),
      restart: z.string().optional(),
      environment: z.record(z.string(), z.string()).optional(),
      ports: z.array(z.string()).optional(),
      expose: z.array(z.string()).optional(),
      volumes: z.array(z.string()).optional(),
      command: z.array(z.string()).optional(),
      healthcheck: z.object({ test: z.array(z.string()) }).optional(),
      depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
    }),
  ),
});

/** What an operator's .env would hold: a valid value for every required secret. */
const siteEnv: Record<string, string> = {
  POSTGRES_PASSWORD: "db-secret",
  POSTGRES_RUNTIME_PASSWORD: "runtime-secret",
  ACTIVITY_LOG_KEYS: `k1:${Buffer.alloc(32, 3).toString("base64")}`,
  ACTIVITY_CHECKPOINT_KEY: "MC4CAQAwBQYDK2VwBCIEIFcJ/bjgfpKhVKurkIIraUXY/SW/6X+oeSR91PlReUZE",
  MQTT_SERVICE_PASSWORD: "broker-secret",
  PUBLIC_URL: "https://vakt.example.kommune.no",
  PSEUDONYM_KEY: "k".repeat(40),
};

const rawCompose = parse(read("docker-compose.yml"), { merge: true });
const compose = composeFile.parse(rawCompose);
const services = compose.services;
const envOf = (name: string) =>
  Object.fromEntries(
    Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, interpolate(v, siteEnv)]),
  );
const containerPorts = (name: string) =>
  [...(services[name]?.ports ?? []), ...(services[name]?.expose ?? [])].map((p) => p.split(":").at(-1));
const publishedPorts = (name: string) => (services[name]?.ports ?? []).map((p) => p.split(":").at(-1));

describe("docker-compose.yml", () => {
  it("refuses to start without the site's secrets", () => {
    expect(() => interpolate(services.api?.environment?.PSEUDONYM_KEY ?? "", {})).toThrow(/PSEUDONYM_KEY/);
    expect(() => interpolate(services.timescaledb?.environment?.POSTGRES_PASSWORD ?? "", {})).toThrow(
      /POSTGRES_PASSWORD/,
    );
  });

  it("gives ingest and api a configuration their schemas accept", () => {
    const ingest = loadConfig(ingestEnv, envOf("ingest"));
    const api = loadConfig(apiEnv, envOf("api"));
    expect(ingest.NODE_ENV).toBe("production");
    expect(api.NODE_ENV).toBe("production");
  });

  it("migrates as the owner and runs the api as the runtime role, with activity-log keys required", () => {
    for (const name of ["api", "broker-auth"]) {
      const owner = new URL(envOf(name).MIGRATION_DATABASE_URL ?? "");
      expect(owner.username, name).toBe(services.timescaledb?.environment?.POSTGRES_USER);
      expect(owner.password, name).toBe(siteEnv.POSTGRES_PASSWORD);
      expect(new URL(envOf(name).DATABASE_URL ?? "").username, name).toBe("vakt_runtime");
    }
    const api = envOf("api");
    expect(api.ACTIVITY_CHECKPOINT_FILE).toMatch(/^\/var\/lib\/vakt-checkpoints\//);
    expect(services.api?.volumes ?? []).toContain("activity-checkpoints:/var/lib/vakt-checkpoints");
    const { ACTIVITY_LOG_KEYS: _k, ACTIVITY_CHECKPOINT_KEY: _c, ...withoutKeys } = api;
    expect(() => loadConfig(apiEnv, withoutKeys)).toThrow(/ACTIVITY_LOG_KEYS: required in production/);
    expect(() => loadConfig(apiEnv, withoutKeys)).toThrow(/ACTIVITY_CHECKPOINT_KEY: required in production/);
  });

  it("points every service at hosts and ports that exist", () => {
    for (const name of ["ingest", "api"]) {
      const env = envOf(name);
      const db = new URL(env.DATABASE_URL ?? "");
      expect(Object.keys(services)).toContain(db.hostname);
      expect(db.port).toBe("5432");
      // The processes connect as the runtime role, not the image's (superuser) POSTGRES_USER.
      expect(db.password).toBe(siteEnv.POSTGRES_RUNTIME_PASSWORD);
      expect(db.username).toBe("vakt_runtime");
      expect(db.username).not.toBe(services[db.hostname]?.environment?.POSTGRES_USER);
      expect(db.pathname).toBe(`/${services[db.hostname]?.environment?.POSTGRES_DB}`);
      const mqtt = new URL(env.MQTT_URL ?? "");
      expect(Object.keys(services)).toContain(mqtt.hostname);
      expect(containerPorts(mqtt.hostname)).toContain(mqtt.port);
      expect(env.MQTT_USERNAME).toBe(services[mqtt.hostname]?.environment?.MQTT_SERVICE_USERNAME);
      expect(Object.keys(services[name]?.depends_on ?? {}).sort()).toEqual(
        [db.hostname, mqtt.hostname].sort(),
      );
    }
    expect(containerPorts("api")).toContain(String(loadConfig(apiEnv, envOf("api")).API_PORT));
    expect(containerPorts("ingest")).toContain(
      String(loadConfig(ingestEnv, envOf("ingest")).INGEST_HTTP_PORT),
    );
  });

  it("runs every service with a healthcheck and a restart policy, and builds from real Dockerfile targets", () => {
    const dockerfileTargets = [...read("Dockerfile").matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
    for (const [name, s] of Object.entries(services)) {
      expect(s.restart, name).toBe("unless-stopped");
      const hasHealthcheck =
        s.healthcheck !== undefined || (s.build && read("Dockerfile").includes("HEALTHCHECK"));
      expect(hasHealthcheck, name).toBe(true);
      if (s.build) expect(dockerfileTargets).toContain(s.build.target);
      if (s.image) expect(s.image, name).toMatch(/:\d/); // a pinned major version, never :latest
    }
  });

  it("keeps the broker's credentials in step with the devices table under the service account", () => {
    const auth = services["broker-auth"];
    expect(auth?.command).toContain("--watch");
    const accounts = envOf("broker-auth").MQTT_SERVICE_ACCOUNTS ?? "";
    for (const name of ["ingest", "api"]) {
      const env = envOf(name);
      expect(accounts.split(",")).toContain(`${env.MQTT_USERNAME}:${env.MQTT_PASSWORD}`);
    }
    const out = auth?.command?.[(auth.command?.indexOf("--out") ?? -2) + 1];
    const authVolume = auth?.volumes?.find((v) => v.endsWith(`:${out}`))?.split(":")[0];
    expect(services.mosquitto?.volumes).toContain(`${authVolume}:${out}:ro`);
    const conf = read("ingest/mosquitto/mosquitto.conf");
    expect(conf).toContain(`password_file ${out}/passwd`);
    expect(conf).toContain(`acl_file ${out}/acl`);
  });

  it("mounts a Mosquitto configuration with authentication on and anonymous access off", () => {
    const mount = services.mosquitto?.volumes?.find((v) => v.endsWith("/mosquitto/config/mosquitto.conf:ro"));
    expect(mount).toBeDefined();
    const file = (mount ?? "").split(":")[0] ?? "";
    expect(existsSync(join(root, file))).toBe(true);
    const conf = read(file);
    expect(conf).toMatch(/^allow_anonymous false$/m);
    expect(conf).toMatch(/^listener 1883/m);
  });

  it("binds device connections to their credentials and keeps the service listener off the network", () => {
    const conf = read("ingest/mosquitto/mosquitto.conf");
    expect(conf).toMatch(/^per_listener_settings true$/m);
    // Device listener: the client id is the username (the serial).
    expect(conf).toMatch(
      /^listener 1883\nallow_anonymous false\npassword_file \S+\/passwd\nacl_file \S+\nuse_username_as_clientid true$/m,
    );
    // Service listener: service accounts only, not published.
    expect(conf).toMatch(/^listener 1884\nallow_anonymous false\npassword_file \S+\/passwd-services\n/m);
    expect(publishedPorts("mosquitto")).toEqual(["1883"]);
    for (const name of ["ingest", "api"]) expect(new URL(envOf(name).MQTT_URL ?? "").port).toBe("1884");
  });
});

describe("Dockerfile: the production image", () => {
  const dockerfile = read("Dockerfile");
  /** Each stage's lines, by the name after AS. */
  const stages = Object.fromEntries(
    dockerfile
      .split(/^(?=FROM )/m)
      .filter((s) => s.startsWith("FROM "))
      .map((s) => [/^FROM \S+ AS (\S+)/.exec(s)?.[1] ?? "", s]),
  );
  const built = (pkg: string) =>
    [...(JSON.parse(read(`${pkg}/package.json`)).scripts.build as string).matchAll(/(\S+)=src\//g)].map(
      (m) => `${pkg}/dist/${m[1]}.js`,
    );

  it("installs production dependencies only, and runs compiled JavaScript with node as the node user", () => {
    expect(stages["prod-deps"]).toMatch(/npm ci --omit=dev/);
    expect(stages.runtime).toMatch(/^COPY --from=prod-deps /m);
    expect(stages.runtime).not.toMatch(/--from=deps|--from=build \/app \/app/);
    const instructions = dockerfile.replace(/^#.*$/gm, "");
    expect(instructions).not.toMatch(/\btsx\b/);
    for (const target of ["ingest", "api"]) {
      const stage = stages[target] ?? "";
      const cmd = JSON.parse(/^CMD (.*)$/m.exec(stage)?.[1] ?? "[]") as string[];
      expect(cmd[0], target).toBe("node");
      expect([...built("api"), ...built("ingest")]).toContain(cmd[1]);
      // The last USER of the stage (or of runtime, which it builds on) is node.
      const users = [...`${stages.runtime}${stage}`.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
      expect(users.at(-1), target).toBe("node");
    }
  });

  it("probes the paths that answer health, not the console's index page", () => {
    expect(stages.api).toMatch(/HEALTHCHECK[\s\S]*\/api\/healthz/);
    expect(stages.ingest).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
  });

  it("runs compose commands from the built output too", () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.command) continue;
      expect(s.command.join(" "), name).not.toMatch(/\btsx\b/);
      if (s.command[0] === "node")
        expect([...built("api"), ...built("ingest")], name).toContain(s.command[1]);
    }
  });
});

describe("docker-compose.yml: metrics", () => {
  it("serves the API's metrics on the compose network only, on a port of their own", () => {
    const api = loadConfig(apiEnv, envOf("api"));
    expect(api.API_METRICS).toBe(true);
    expect(api.API_METRICS_PORT).not.toBe(api.API_PORT);
    expect(services.api?.expose).toContain(String(api.API_METRICS_PORT));
    expect(publishedPorts("api")).not.toContain(String(api.API_METRICS_PORT));
    expect(publishedPorts("api")).toEqual([String(api.API_PORT)]);
  });

  it("serves ingest's metrics on the compose network only, never on the published OsmAnd port", () => {
    const ingest = loadConfig(ingestEnv, envOf("ingest"));
    expect(ingest.INGEST_METRICS).toBe(true);
    expect(services.ingest?.expose).toContain(String(ingest.INGEST_METRICS_PORT));
    expect(publishedPorts("ingest")).toEqual([String(ingest.INGEST_HTTP_PORT)]);
  });
});

describe("docker-compose.scale.yml", () => {
  const scaleEnv: Record<string, string> = {
    ...siteEnv,
    REPLICATION_PASSWORD: "replication-secret",
    EMQX_COOKIE: "c".repeat(32),
  };
  const raw = parse(read("docker-compose.scale.yml"), { merge: true });
  const scale = composeFile.parse(raw).services;
  const env = (name: string) =>
    Object.fromEntries(
      Object.entries(scale[name]?.environment ?? {}).map(([k, v]) => [k, interpolate(v, scaleEnv)]),
    );
  const byTarget = (target: string) =>
    Object.entries(scale)
      .filter(([, s]) => s.build?.target === target)
      .map(([name]) => name);
  const ingests = byTarget("ingest");
  const apis = byTarget("api");
  const brokers = Object.entries(scale)
    .filter(([, s]) => s.image?.startsWith("emqx/emqx:"))
    .map(([name]) => name);

  it("has its extra secrets listed in .env.example", () => {
    const listed = new Set([...read(".env.example").matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]));
    for (const key of Object.keys(scaleEnv)) expect(listed, key).toContain(key);
  });

  it("runs several ingest workers, API processes and broker nodes", () => {
    expect(ingests.length).toBeGreaterThanOrEqual(2);
    expect(apis.length).toBeGreaterThanOrEqual(2);
    expect(brokers.length).toBeGreaterThanOrEqual(2);
  });

  it("refuses to start without the site's secrets, the replication password and the cluster cookie", () => {
    expect(() => interpolate(scale.timescaledb?.environment?.REPLICATION_PASSWORD ?? "", {})).toThrow(
      /REPLICATION_PASSWORD/,
    );
    expect(() => interpolate(scale[brokers[0] as string]?.environment?.EMQX_NODE__COOKIE ?? "", {})).toThrow(
      /EMQX_COOKIE/,
    );
    expect(() => interpolate(scale[apis[0] as string]?.environment?.PSEUDONYM_KEY ?? "", {})).toThrow(
      /PSEUDONYM_KEY/,
    );
  });

  it("gives every ingest and API process a configuration its schema accepts, pointing at services that exist", () => {
    for (const name of [...ingests, ...apis]) {
      const e = env(name);
      const config = ingests.includes(name) ? loadConfig(ingestEnv, e) : loadConfig(apiEnv, e);
      expect(config.NODE_ENV, name).toBe("production");
      const db = new URL(e.DATABASE_URL ?? "");
      expect(db.hostname, name).toBe("timescaledb");
      expect(db.password).toBe(scaleEnv.POSTGRES_RUNTIME_PASSWORD);
      expect(db.username).toBe("vakt_runtime");
      const mqtt = new URL(e.MQTT_URL ?? "");
      expect(brokers, name).toContain(mqtt.hostname);
      expect(mqtt.port).toBe("1883");
      expect(Object.keys(scale[name]?.depends_on ?? {}).sort()).toEqual(["timescaledb", ...brokers].sort());
    }
  });

  it("puts the ingest workers in one shared-subscription group, each with its own session", () => {
    const configs = ingests.map((name) => loadConfig(ingestEnv, env(name)));
    expect(new Set(configs.map((c) => c.INGEST_SHARE_GROUP)).size).toBe(1);
    expect(new Set(configs.map((c) => c.INGEST_CLIENT_ID)).size).toBe(ingests.length);
  });

  it("clusters the broker nodes and authenticates devices against the devices table with the service account", () => {
    for (const name of brokers) {
      const e = env(name);
      const seeds = e.EMQX_CLUSTER__STATIC__SEEDS ?? "";
      for (const other of brokers) expect(seeds).toContain(`emqx@${other}.vakt`);
      expect(e.EMQX_NODE__NAME).toBe(`emqx@${name}.vakt`);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: EMQX's own placeholder
      expect(e.EMQX_AUTHENTICATION__2__QUERY).toContain("FROM devices WHERE serial = ${username}");
      expect(e.EMQX_AUTHORIZATION__NO_MATCH).toBe("deny");
      expect(e.MQTT_SERVICE_PASSWORD).toBe(scaleEnv.MQTT_SERVICE_PASSWORD);
    }
    for (const name of [...ingests, ...apis]) {
      expect(env(name).MQTT_USERNAME).toBe("vakt-service");
      expect(env(name).MQTT_PASSWORD).toBe(scaleEnv.MQTT_SERVICE_PASSWORD);
    }
    const acl = read("ops/scale/emqx-acl.conf");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: EMQX's own placeholder
    expect(acl).toContain('{allow, all, publish, ["vakt/v1/d/${username}/up/#"');
    expect(acl).toMatch(/\{deny, all\}\.\s*$/);
  });

  it("sends HTTP to every API process and MQTT to every broker node through the proxy", () => {
    const nginx = read("ops/scale/nginx.conf");
    const servers = (upstream: string) =>
      [
        ...(nginx.match(new RegExp(`upstream ${upstream} \\{([^}]*)\\}`))?.[1] ?? "").matchAll(
          /server (\S+):(\d+)/g,
        ),
      ].map((m) => `${m[1]}:${m[2]}`);
    expect(servers("vakt_api").sort()).toEqual(
      apis.map((a) => `${a}:${loadConfig(apiEnv, env(a)).API_PORT}`).sort(),
    );
    expect(servers("vakt_mqtt").sort()).toEqual(brokers.map((b) => `${b}:1883`).sort());
    expect(scale.proxy?.ports).toEqual(expect.arrayContaining(["80:80", "1883:1883"]));
  });

  it("runs a streaming replica of the database from the primary's replication role", () => {
    expect(scale["timescaledb-replica"]?.depends_on).toHaveProperty("timescaledb");
    expect(read("ops/scale/replica.sh")).toContain("pg_basebackup -h timescaledb -U replicator");
    expect(read("ops/scale/primary-init.sh")).toContain("CREATE ROLE replicator WITH REPLICATION");
    expect(scale.timescaledb?.volumes).toContain(
      "./ops/scale/primary-init.sh:/docker-entrypoint-initdb.d/10-replication.sh:ro",
    );
  });

  it("runs every service with a healthcheck and a restart policy, on pinned images", () => {
    const dockerfileTargets = [...read("Dockerfile").matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
    for (const [name, s] of Object.entries(scale)) {
      expect(s.restart, name).toBe("unless-stopped");
      const hasHealthcheck =
        s.healthcheck !== undefined || (s.build && read("Dockerfile").includes("HEALTHCHECK"));
      expect(hasHealthcheck, name).toBe(true);
      if (s.build) expect(dockerfileTargets).toContain(s.build.target);
      if (s.image) expect(s.image, name).toMatch(/:\d/);
    }
  });
});

describe(".env.example", () => {
  it("lists every variable that a process reads", () => {
    const listed = new Set([...read(".env.example").matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]));
    for (const schema of [ingestEnv, apiEnv, standaloneEnv]) {
      for (const key of Object.keys(schema.shape)) expect(listed, key).toContain(key);
    }
    for (const key of Object.keys(siteEnv)) expect(listed, key).toContain(key);
  });
});
