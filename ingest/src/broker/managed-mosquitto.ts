/**
 * Mosquitto from PATH for `npm start`: the shipped `mosquitto/mosquitto.conf`
 * with only paths, listeners and the run-as user rewritten, password and ACL
 * files generated from the database in the data folder and rewritten (then
 * SIGHUP) whenever a device is provisioned, rotated or retired. So a try-out
 * gets what production runs: MQTT 5 and 3.1.1, the client id bound to the
 * username on the device listener, services on a listener of their own
 * (127.0.0.1 only). Undefined when no Mosquitto is installed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { Logger } from "pino";
import { DEVICE_DIRECTORY_CHANNEL } from "../pipeline/device-directory";
import { generateMosquittoFiles, type ServiceAccount, writeMosquittoFiles } from "./mosquitto-files";

const SHIPPED_CONF = fileURLToPath(new URL("../../mosquitto/mosquitto.conf", import.meta.url));

/** `MOSQUITTO_BIN`, else `mosquitto` on PATH or in the sbin folders Debian installs it to. */
export function findMosquitto(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.MOSQUITTO_BIN
    ? [env.MOSQUITTO_BIN]
    : [...(env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"]
        .filter(Boolean)
        .map((dir) => join(dir, "mosquitto"));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  return undefined;
}

export interface ManagedMosquittoOptions {
  bin: string;
  pool: pg.Pool;
  /** For the LISTEN that keeps the password file current. */
  databaseUrl: string;
  /** Folder for the configuration, password/ACL files and persistence. */
  dir: string;
  devicePort: number;
  deviceHost: string;
  servicePort: number;
  services: ServiceAccount[];
  logger: Logger;
}

export interface ManagedMosquitto {
  /** The service listener (ingest, api). */
  serviceUrl: string;
  /** The device listener. */
  deviceUrl: string;
  devicePort: number;
  /** Rewrite the password and ACL files now and reload. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The shipped configuration with this folder's paths and these listeners. */
export async function managedMosquittoConfig(
  dir: string,
  device: { port: number; host: string },
  servicePort: number,
): Promise<string> {
  const shipped = await readFile(SHIPPED_CONF, "utf8");
  const lines = shipped.split("\n").flatMap((line) => {
    if (line.startsWith("password_file "))
      return [`password_file ${join(dir, line.trim().split("/").at(-1) ?? "")}`];
    if (line.startsWith("acl_file ")) return [`acl_file ${join(dir, "acl")}`];
    if (line.startsWith("persistence_location ")) return [`persistence_location ${join(dir, "data")}/`];
    if (line.startsWith("listener ")) {
      const port = Number(line.split(/\s+/)[1]);
      if (port === 1883) return [`listener ${device.port} ${device.host}`];
      if (port === 1884) return [`listener ${servicePort} 127.0.0.1`];
      throw new Error(`unexpected listener in the shipped mosquitto.conf: ${line}`);
    }
    return [line];
  });
  // Started as root, Mosquitto switches to the `mosquitto` user, who cannot read this folder.
  if (process.getuid?.() === 0) lines.push("user root");
  return `${lines.join("\n")}\n`;
}

/** The broker's last 200 lines of output (each also logged at debug), for the error when it dies. */
function captureOutput(child: ChildProcess, log: Logger): string[] {
  const output: string[] = [];
  const keep = (b: Buffer) => {
    for (const line of b.toString().split("\n").filter(Boolean)) {
      output.push(line);
      log.debug(line);
    }
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return output;
}

export async function startManagedMosquitto(o: ManagedMosquittoOptions): Promise<ManagedMosquitto> {
  const log = o.logger.child({ component: "mosquitto" });
  await mkdir(join(o.dir, "data"), { recursive: true });
  const confPath = join(o.dir, "mosquitto.conf");
  await writeFile(
    confPath,
    await managedMosquittoConfig(o.dir, { port: o.devicePort, host: o.deviceHost }, o.servicePort),
  );
  let child: ChildProcess | undefined;
  const write = async () => {
    const files = await generateMosquittoFiles(o.pool, o.services);
    await writeMosquittoFiles(o.dir, files);
    return files.devices;
  };
  const sync = async () => {
    const devices = await write();
    child?.kill("SIGHUP");
    log.info({ devices }, "mosquitto password and ACL files rewritten");
  };
  await write();

  // Its own process group: Ctrl-C in the terminal reaches this process, which stops the broker after
  // ingest has committed and acknowledged what it holds, not at once.
  child = spawn(o.bin, ["-c", confPath], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const output = captureOutput(child, log);
  let closing = false;
  const exited = new Promise<void>((resolve) =>
    child?.once("exit", (code, signal) => {
      if (!closing) log.error({ code, signal, output: output.slice(-20) }, "mosquitto exited");
      resolve();
    }),
  );
  try {
    await Promise.all(
      [o.servicePort, o.devicePort].map((p) => waitForPort(p, () => child?.exitCode !== null)),
    );
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`mosquitto did not start (${(err as Error).message}): ${output.slice(-10).join(" | ")}`);
  }

  // Devices provisioned, rotated or retired: rewrite the files, bursts coalesced.
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const schedule = () => {
    if (timer || closing) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = running.then(sync).catch((err) => log.error({ err }, "mosquitto files not rewritten"));
    }, 200);
  };
  const listener = new pg.Client({ connectionString: o.databaseUrl });
  listener.on("notification", schedule);
  listener.on("error", (err) => log.warn({ err }, "mosquitto files: LISTEN connection lost"));
  await listener.connect();
  await listener.query(`LISTEN ${DEVICE_DIRECTORY_CHANNEL}`);
  const periodic = setInterval(schedule, 60_000);
  log.info({ devicePort: o.devicePort, servicePort: o.servicePort, bin: o.bin }, "mosquitto started");

  return {
    serviceUrl: `mqtt://127.0.0.1:${o.servicePort}`,
    deviceUrl: `mqtt://${o.deviceHost === "0.0.0.0" ? "127.0.0.1" : o.deviceHost}:${o.devicePort}`,
    devicePort: o.devicePort,
    sync: () => {
      running = running.then(sync);
      return running;
    },
    async close() {
      closing = true;
      clearInterval(periodic);
      if (timer) clearTimeout(timer);
      await running.catch(() => {});
      await listener.end().catch(() => {});
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Resolves once 127.0.0.1:`port` accepts a connection; fails when `failed()` says the process died, or after the bound. */
export async function waitForPort(port: number, failed: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (failed()) throw new Error("process exited");
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not open after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
