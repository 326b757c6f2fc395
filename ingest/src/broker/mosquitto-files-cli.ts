/**
 * Regenerates Mosquitto's passwd and acl files from the database and reloads
 * the broker:
 *
 *   DATABASE_URL=... MQTT_SERVICE_ACCOUNTS='vakt-ingest:secret,vakt-api:secret' \
 *     tsx src/broker/mosquitto-files-cli.ts --out /mosquitto/config [--pid-file /run/mosquitto.pid]
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { createPool } from "@vakt/storage";
import { z } from "zod";
import { generateMosquittoFiles, type ServiceAccount, writeMosquittoFiles } from "./mosquitto-files";

const env = z
  .object({
    DATABASE_URL: z.string().min(1),
    MQTT_SERVICE_ACCOUNTS: z
      .string()
      .regex(/^[^:,]+:[^,]+(,[^:,]+:[^,]+)*$/, "user:password[,user:password...]")
      .optional(),
  })
  .parse(process.env);

const { values } = parseArgs({
  options: { out: { type: "string" }, "pid-file": { type: "string" }, pid: { type: "string" } },
});
if (!values.out) {
  console.error("usage: mosquitto-files --out <dir> [--pid-file <file> | --pid <pid>]");
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
try {
  const files = await generateMosquittoFiles(pool, services);
  await writeMosquittoFiles(values.out, files);
  console.log(`wrote ${values.out}/passwd (${files.devices} devices, ${services.length} services) and acl`);
  const pidText = values.pid ?? (values["pid-file"] ? await readFile(values["pid-file"], "utf8") : undefined);
  if (pidText) {
    process.kill(Number(pidText.trim()), "SIGHUP");
    console.log("broker reloaded");
  }
} finally {
  await pool.end();
}
