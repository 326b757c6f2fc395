/**
 * What both ingest benchmarks stand on: a fresh database (on BENCH_DATABASE_URL,
 * or an embedded PostgreSQL started for the run) and a Mosquitto from the
 * shipped configuration that knows ingest's service account.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
