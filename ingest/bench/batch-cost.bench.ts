/**
 * `npm run bench:batch-cost -w @vakt/ingest`: PostgreSQL's CPU per stored position as a function of
 * the batch size ingest commits (issue #20 item 2), beside the same rows COPYed bare into each table
 * ingest writes (positions, the raw device-message log, the message-id table): the difference is
 * what a batch costs over its rows (BEGIN and savepoint, the latest-position upsert through its
 * staging table, the commit). Batches here come from commitBatch directly, so no broker or MQTT
 * is in the figures; device rows are left out (the writer's throttle writes few of them).
 *
 * CPU is read from /proc for this database's own backends, so PostgreSQL must run on this machine
 * (the embedded one by default; BENCH_DATABASE_URL for another local server). Prints figures;
 * asserts nothing. BENCH_ROWS (default 40,000) per batch size.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { startEmbeddedPostgres } from "@vakt/storage";
import { createTestDatabase } from "@vakt/storage/testing";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { type DeviceRef, decide, type StoreDecision } from "../src/pipeline/decide";
import { commitBatch } from "../src/pipeline/store";
import { makeDevice, makeOrganisation, type TestDevice } from "../src/testing/fixtures";

const ROWS = Number(process.env.BENCH_ROWS ?? 40_000);
const SIZES = [16, 64, 250, 1_000, 2_000];
const CLK_TCK = 100;

/** CPU seconds so far of the given backends. */
function cpuOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // A backend that ended used no more.
    }
  }
  return ticks / CLK_TCK;
}

async function backends(pool: pg.Pool): Promise<number[]> {
  // Open every connection of the pool first, so all of them are counted.
  await Promise.all(Array.from({ length: 4 }, () => pool.query("SELECT pg_sleep(0.02)")));
  const { rows } = await pool.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()",
  );
  return rows.map((r) => r.pid);
}

async function main() {
  let stopServer = async () => {};
  let serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const dir = await mkdtemp(join(tmpdir(), "vakt-batch-cost-"));
    const server = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
    serverUrl = server.url;
    stopServer = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const db = await createTestDatabase({ serverUrl, poolMax: 4 });
  try {
    const org = await makeOrganisation(db.pool);
    const devices: TestDevice[] = [];
    for (let i = 0; i < 100; i++) devices.push(await makeDevice(db.pool, org, { recipient: true }));
    const refs = new Map<string, DeviceRef>(
      devices.map((d) => [
        d.serial,
        {
          id: d.id,
          serial: d.serial,
          organisationId: org.orgId,
          departmentId: org.deptId,
          recipientId: d.recipientId,
        },
      ]),
    );
    const pids = await backends(db.pool);
    const now = Date.now();
    let seq = 0;
    const message = (i: number) => {
      const d = devices[i % devices.length] as TestDevice;
      const t = now - 3_600_000 + seq++ * 3;
      const payload = { v: 1, id: `p${seq}`, fix: { t, lat: 59.9, lon: 10.7, accM: 8, batteryPct: 80 } };
      return { d, t, id: `p${seq}`, payload: JSON.stringify(payload) };
    };

    console.log(
      `PostgreSQL CPU per position, ${ROWS.toLocaleString("en-US")} positions each (one fix a message):`,
    );
    // The rows alone: the same three tables, COPYed bare in one transaction each.
    const client = await db.pool.connect();
    const bare = async (sql: string, line: (i: number) => string) => {
      const before = cpuOf(pids);
      await client.query("BEGIN");
      await pipeline(
        Readable.from(
          (function* () {
            let chunk = "";
            for (let i = 0; i < ROWS; i++) {
              chunk += line(i);
              if (chunk.length > 65_536) {
                yield chunk;
                chunk = "";
              }
            }
            if (chunk) yield chunk;
          })(),
        ),
        client.query(copyFrom(sql)),
      );
      await client.query("COMMIT");
      return ((cpuOf(pids) - before) / ROWS) * 1e6;
    };
    const rows = [] as { table: string; us: number }[];
    const m = Array.from({ length: ROWS }, (_, i) => message(i));
    const iso = (t: number) => new Date(t).toISOString();
    rows.push({
      table: "positions",
      us: await bare(
        "COPY positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m, source, battery_percent) FROM STDIN",
        (i) => {
          const x = m[i] as (typeof m)[number];
          return `${iso(x.t)}\t${x.d.id}\t${org.orgId}\t${x.d.recipientId}\t${x.id}\t59.9\t10.7\t8\tgps\t80\n`;
        },
      ),
    });
    rows.push({
      table: "device_messages",
      us: await bare(
        "COPY device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload_text) FROM STDIN",
        (i) => {
          const x = m[i] as (typeof m)[number];
          return `${iso(x.t)}\t${x.d.id}\t${org.orgId}\tuplink\tvakt/v1/d/${x.d.serial}/up/position\t${x.id}\tposition\t${x.payload}\n`;
        },
      ),
    });
    rows.push({
      table: "uplink_ids",
      us: await bare("COPY uplink_ids (device_id, message_id, payload_sha256) FROM STDIN", (i) => {
        const x = m[i] as (typeof m)[number];
        return `${x.d.id}\t${x.id}\t\\\\x${"ab".repeat(32)}\n`;
      }),
    });
    client.release();
    const rowsOnly = rows.reduce((a, r) => a + r.us, 0);
    for (const r of rows)
      console.log(`  bare COPY into ${r.table.padEnd(16)} ${r.us.toFixed(1).padStart(6)} µs`);
    console.log(`  the three together             ${rowsOnly.toFixed(1).padStart(6)} µs (the rows' floor)`);

    for (const size of SIZES) {
      const batches = Math.ceil(ROWS / size);
      const before = cpuOf(pids);
      for (let b = 0; b < batches; b++) {
        const stores: StoreDecision[] = [];
        for (let i = 0; i < size; i++) {
          const x = message(i);
          const decision = decide(
            `vakt/v1/d/${x.d.serial}/up/position`,
            Buffer.from(x.payload),
            now,
            (serial) => refs.get(serial),
            { maxPayloadBytes: 65_536 },
          );
          if (decision.kind !== "store") throw new Error(`not stored: ${JSON.stringify(decision)}`);
          stores.push(decision);
        }
        await commitBatch(db.pool, { stores, deadLetters: [], deviceFilter: () => false });
      }
      const us = ((cpuOf(pids) - before) / (batches * size)) * 1e6;
      const perBatchMs = ((us - rowsOnly) * size) / 1000;
      console.log(
        `  batches of ${String(size).padStart(5)}: ${us.toFixed(1).padStart(6)} µs per position, ` +
          `${(us / rowsOnly).toFixed(2)} × the rows' floor (about ${perBatchMs.toFixed(2)} ms a batch over its rows)`,
      );
    }
  } finally {
    await db.drop();
    await stopServer();
  }
}

await main();
process.exit(0);
