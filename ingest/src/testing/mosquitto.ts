/**
 * A real Mosquitto for tests and benchmarks, started from the shipped
 * `mosquitto/mosquitto.conf` with only paths, the ports and the run-as user
 * rewritten, so tests prove what production runs. The shipped file has two
 * listeners: `url` is the services' (1884 in production; what ingest, the
 * api and service clients use), `deviceUrl` the devices' (1883, where the
 * client id is the username).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@vakt/storage";
import { waitForPort } from "../broker/managed-mosquitto";

export const SHIPPED_MOSQUITTO_CONF = fileURLToPath(
  new URL("../../mosquitto/mosquitto.conf", import.meta.url),
);
export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? "/usr/sbin/mosquitto";

export interface RunningMosquitto {
  /** The service listener (production 1884). */
  url: string;
  port: number;
  /** The device listener (production 1883): client id = username. */
  deviceUrl: string;
  devicePort: number;
  dir: string;
  /** The current Mosquitto process (a new one after `restart`). */
  process: ChildProcess;
  logs: string[];
  /** SIGHUP: re-read passwd/acl. */
  reload(): void;
  /**
   * Stops Mosquitto (SIGTERM: it writes its persistence file and exits) and starts it again on the
   * same port, configuration and data folder; `downMs` keeps it down that long in between.
   */
  restart(options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export interface MosquittoOptions {
  /** Contents of the passwd and acl files; omitted: anonymous access allowed (for plain references). */
  passwd?: string;
  /** The service listener's passwd (`passwd-services`); default: `passwd`. */
  servicePasswd?: string;
  acl?: string;
  /** Lines appended to the configuration (test-only adjustments). */
  extra?: string[];
}

/** Production listener ports of the shipped file. */
export const SHIPPED_DEVICE_PORT = 1883;
export const SHIPPED_SERVICE_PORT = 1884;

export async function shippedConfigFor(
  dir: string,
  ports: { service: number; device: number },
  options: MosquittoOptions,
): Promise<string> {
  const shipped = await readFile(SHIPPED_MOSQUITTO_CONF, "utf8");
  const anonymous = options.passwd === undefined;
  const lines = shipped.split("\n").flatMap((line) => {
    if (line.startsWith("password_file ")) {
      const name = line.trim().split("/").at(-1) ?? "passwd";
      return anonymous ? [] : [`password_file ${join(dir, name)}`];
    }
    if (line.startsWith("acl_file "))
      return anonymous || options.acl === undefined ? [] : [`acl_file ${join(dir, "acl")}`];
    if (line.startsWith("allow_anonymous ")) return [`allow_anonymous ${anonymous}`];
    if (line.startsWith("listener ")) {
      const shippedPort = Number(line.split(/\s+/)[1]);
      if (shippedPort === SHIPPED_DEVICE_PORT) return [`listener ${ports.device} 127.0.0.1`];
      if (shippedPort === SHIPPED_SERVICE_PORT) return [`listener ${ports.service} 127.0.0.1`];
      throw new Error(`unexpected listener in the shipped mosquitto.conf: ${line}`);
    }
    if (line.startsWith("persistence_location ")) return [`persistence_location ${join(dir, "data")}/`];
    return [line];
  });
  // As root, Mosquitto would switch to the mosquitto user, who cannot read a private temp folder.
  lines.push("user root", ...(options.extra ?? []));
  return lines.join("\n");
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<RunningMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), "vakt-mosquitto-"));
  await mkdir(join(dir, "data"));
  const port = await freePort();
  let devicePort = await freePort();
  while (devicePort === port) devicePort = await freePort();
  if (options.passwd !== undefined) {
    await writeFile(join(dir, "passwd"), options.passwd);
    await writeFile(join(dir, "passwd-services"), options.servicePasswd ?? options.passwd);
  }
  if (options.acl !== undefined) await writeFile(join(dir, "acl"), options.acl);
  const confPath = join(dir, "mosquitto.conf");
  await writeFile(confPath, await shippedConfigFor(dir, { service: port, device: devicePort }, options));
  const logs: string[] = [];
  const keep = (b: Buffer) => {
    logs.push(...b.toString().split("\n").filter(Boolean));
    if (logs.length > 2_000) logs.splice(0, logs.length - 2_000);
  };
  const launch = async () => {
    const child = spawn(MOSQUITTO_BIN, ["-c", confPath], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const failed = () => child.exitCode !== null;
    await Promise.all([waitForPort(port, failed), waitForPort(devicePort, failed)]).catch((err) => {
      throw new Error(`mosquitto did not start: ${err.message}\n${logs.join("\n")}`);
    });
    return { child, exited };
  };
  const halt = async (p: { child: ChildProcess; exited: Promise<void> }) => {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill("SIGTERM");
      await p.exited;
    }
  };
  let current = await launch();
  const running: RunningMosquitto = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    deviceUrl: `mqtt://127.0.0.1:${devicePort}`,
    devicePort,
    dir,
    process: current.child,
    logs,
    reload: () => current.child.kill("SIGHUP"),
    async restart(options = {}) {
      await halt(current);
      if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
      current = await launch();
      running.process = current.child;
    },
    async stop() {
      await halt(current);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return running;
}
