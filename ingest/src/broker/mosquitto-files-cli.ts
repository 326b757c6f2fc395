/**
 * Regenerates Mosquitto's passwd and acl files from the database and reloads
 * the broker:
 *
 *   DATABASE_URL=... MQTT_SERVICE_ACCOUNTS='vakt-ingest:secret,vakt-api:secret' \
 *     tsx src/broker/mosquitto-files-cli.ts --out /mosquitto/auth [--pid-file F | --pid N] [--watch]
 *       [--owner uid:gid] [--migrate]
 *
 * With --watch it keeps running (the `broker-auth` service of docker-compose):
 * it rewrites the files whenever a device is provisioned, rotated or retired
 * (LISTEN on the device-directory channel) and at least every minute. Files are
 * replaced atomically, so the broker, which reloads when they change, never
 * reads half a file.
 */
import { chown, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createPool, ensureRuntimeRole, migrate } from "@vakt/storage";
import pg from "pg";
import { z } from "zod";
import { DEVICE_DIRECTORY_CHANNEL } from "../pipeline/device-directory";
import {
  generateMosquittoFiles,
  MOSQUITTO_FILE_NAMES,
  type ServiceAccount,
  writeMosquittoFiles,
} from "./mosquitto-files";

const env = z
  .object({
    DATABASE_URL: z.string().min(1),
    MIGRATION_DATABASE_URL: z.string().min(1).optional(),
    MQTT_SERVICE_ACCOUNTS: z
      .string()
      .regex(/^[^:,]+:[^,]+(,[^:,]+:[^,]+)*$/, "user:password[,user:password...]")
      .optional(),
  })
  .parse(process.env);

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    "pid-file": { type: "string" },
    pid: { type: "string" },
    watch: { type: "boolean", default: false },
    /** Apply pending migrations first (the broker-auth service may start before ingest and api). */
    migrate: { type: "boolean", default: false },
    /** uid:gid to own the files, so the broker's unprivileged user can read them (1883:1883 in eclipse-mosquitto). */
    owner: { type: "string" },
  },
});
const out = values.out;
if (!out) {
  console.error("usage: mosquitto-files --out <dir> [--pid-file <file> | --pid <pid>] [--watch]");
  process.exit(2);
}

const services: ServiceAccount[] = (env.MQTT_SERVICE_ACCOUNTS ?? "")
  .split(",")
  .filter(Boolean)
  .map((pair) => {
    const i = pair.indexOf(":");
    return { username: pair.slice(0, i), password: pair.slice(i + 1) };
  });

const pool = createPool(env.DATABASE_URL, { max: 1, applicationName: "vakt-mosquitto-files" });
if (values.migrate) {
  // As the tables' owner when MIGRATION_DATABASE_URL is set, which then also
  // makes DATABASE_URL's role the runtime role (member of vakt_app).
  const ownerUrl = env.MIGRATION_DATABASE_URL || env.DATABASE_URL;
  const owner = createPool(ownerUrl, { max: 1, applicationName: "vakt-migrate" });
  try {
    const client = await owner.connect();
    try {
      await migrate(client);
      if (env.MIGRATION_DATABASE_URL)
        console.log(JSON.stringify(await ensureRuntimeRole(client, env.DATABASE_URL)));
    } finally {
      client.release();
    }
  } finally {
    await owner.end();
  }
}

async function regenerate(): Promise<void> {
  const files = await generateMosquittoFiles(pool, services);
  await writeMosquittoFiles(out as string, files);
  if (values.owner) {
    const [uid, gid] = values.owner.split(":").map(Number);
    for (const name of MOSQUITTO_FILE_NAMES) await chown(join(out as string, name), uid ?? -1, gid ?? -1);
  }
  console.log(
    `wrote ${out}/passwd (${files.devices} devices, ${services.length} services), passwd-services and acl`,
  );
  const pidText = values.pid ?? (values["pid-file"] ? await readFile(values["pid-file"], "utf8") : undefined);
  if (pidText) {
    process.kill(Number(pidText.trim()), "SIGHUP");
    console.log("broker reloaded");
  }
}

if (!values.watch) {
  try {
    await regenerate();
  } finally {
    await pool.end();
  }
} else {
  await regenerate();
  let pending = false;
  let running = Promise.resolve();
  // Coalesce bursts (provisioning 500 devices) into one rewrite.
  const schedule = () => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      running = running.then(regenerate).catch((err) => console.error("regenerate failed:", err));
    }, 500);
  };
  const listen = async () => {
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    client.on("notification", schedule);
    client.on("error", () => setTimeout(() => void listen().catch(() => {}), 2_000));
    await client.connect();
    await client.query(`LISTEN ${DEVICE_DIRECTORY_CHANNEL}`);
    schedule(); // catch up on anything changed while not listening
  };
  await listen();
  const periodic = setInterval(schedule, 60_000);
  const stop = async () => {
    clearInterval(periodic);
    await running;
    await pool.end();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}
