/**
 * What both ingest benchmarks stand on: a fresh database (on BENCH_DATABASE_URL,
 * or an embedded PostgreSQL started for the run) and a Mosquitto from the
 * shipped configuration that knows ingest's service account.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmbeddedPostgres } from "@vakt/storage";
import { createTestDatabase } from "@vakt/storage/testing";
import { generateMosquittoFiles } from "../src/broker/mosquitto-files";
import { startMosquitto } from "../src/testing/mosquitto";

export async function startBenchLab() {
  let stopPg: (() => Promise<void>) | undefined;
  let serverUrl = process.env.BENCH_DATABASE_URL;
  if (!serverUrl) {
    const dir = await mkdtemp(join(tmpdir(), "vakt-bench-pg-"));
    const server = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
    serverUrl = server.url;
    stopPg = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const db = await createTestDatabase({ serverUrl, poolMax: 8 });
  const service = { username: "vakt-ingest", password: "bench-secret" };
  const files = await generateMosquittoFiles(db.pool, [service]);
  const broker = await startMosquitto({ passwd: files.passwd, acl: files.acl });
  return {
    db,
    pool: db.pool,
    broker,
    /** Ingest's broker account; publishers in the benchmarks use it too. */
    service,
    async stop() {
      await broker.stop();
      await db.drop();
      await stopPg?.();
    },
  };
}

/** What bench/publisher.ts reports when it is done. */
export interface PublisherReport {
  messages: number;
  sent: number;
  acked: number;
  failed: number;
  seconds: number;
  startedAt: number;
}

const ingestDir = fileURLToPath(new URL("..", import.meta.url));

/**
 * Publishes numbered positions from a separate process (bench/publisher.ts), so
 * the publisher's CPU is not the measured process's, as ingest's service account.
 */
export function runPublisher(
  lab: { broker: { url: string }; service: { username: string; password: string } },
  run: {
    serials: string[];
    messages: number;
    fixes: number;
    base: number;
    tag: string;
    connections?: number;
  },
): Promise<PublisherReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/publisher.ts",
        `--url=${lab.broker.url}`,
        `--username=${lab.service.username}`,
        `--password=${lab.service.password}`,
        `--serials=${run.serials.join(",")}`,
        `--messages=${run.messages}`,
        `--fixes=${run.fixes}`,
        ...(run.connections !== undefined ? [`--connections=${run.connections}`] : []),
        `--base=${run.base}`,
        `--tag=${run.tag}`,
      ],
      { cwd: ingestDir, stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (b) => {
      out += b;
    });
    child.once("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim()) as PublisherReport)
        : reject(new Error(`publisher ${code}`)),
    );
  });
}
