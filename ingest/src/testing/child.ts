/** Runs the real ingest process (`src/main.ts` via tsx) as a child, for crash tests. */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "@vakt/storage";

const ingestDir = fileURLToPath(new URL("../..", import.meta.url));

export interface IngestChild {
  process: ChildProcess;
  httpPort: number;
  /** GET /metrics (INGEST_METRICS_PORT), apart from the OsmAnd port. */
  metricsPort: number;
  output: string[];
  exited: Promise<number | null>;
}

export async function spawnIngest(env: Record<string, string>): Promise<IngestChild> {
  const httpPort = await freePort();
  let metricsPort = await freePort();
  while (metricsPort === httpPort) metricsPort = await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ingestDir,
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "warn",
      INGEST_HTTP_PORT: String(httpPort),
      INGEST_HTTP_HOST: "127.0.0.1",
      INGEST_METRICS_PORT: String(metricsPort),
      // main.ts runs the alarm lane in its worker thread; INGEST_ALARM_LANE=inline in the test's own
      // environment runs the crash tests and the lab the old way, for a reference.
      ...(process.env.INGEST_ALARM_LANE ? { INGEST_ALARM_LANE: process.env.INGEST_ALARM_LANE } : {}),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (b: Buffer) => {
    output.push(b.toString());
    if (output.length > 500) output.splice(0, output.length - 500);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  // Ready when /healthz says the MQTT session is up.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`ingest exited early (${child.exitCode ?? child.signalCode}):\n${output.join("")}`);
    let health = "no answer";
    const ok = await fetch(`http://127.0.0.1:${httpPort}/healthz`)
      .then(async (r) => {
        health = `${r.status} ${await r.text()}`;
        return r.ok;
      })
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`ingest not healthy (${health}):\n${output.join("")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { process: child, httpPort, metricsPort, output, exited };
}
