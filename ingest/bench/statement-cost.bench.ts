/**
 * `npm run bench:statement-cost -w @vakt/ingest`: PostgreSQL's CPU for each statement of a bulk batch
 * (store.ts's straight COPY path), summed over BENCH_BATCHES batches of BENCH_BATCH_ROWS positions
 * from BENCH_DEVICES / 4 devices (one writer lane's share of the bench's 1,000), one fix a message:
 * where the CPU per position beyond the rows' own COPY goes (issue #20 item 2). CPU is read from
 * /proc for the one backend that runs the batches, so PostgreSQL must run on this machine (the
 * embedded one by default). Prints figures; asserts nothing.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedPostgres } from "@vakt/storage";
import { createTestDatabase } from "@vakt/storage/testing";
import { copyData, STAGING_SQL } from "../src/pipeline/copy";
import {
  LATEST_COPY_BINARY,
  latestBinary,
  MESSAGES_COPY_BINARY,
  messagesBinary,
  POSITIONS_COPY_BINARY,
  positionsBinary,
  UPLINK_IDS_COPY_BINARY,
  uplinkIdsBinary,
} from "../src/pipeline/copy-binary";
import { type DeviceRef, decide, type StoreDecision } from "../src/pipeline/decide";
import { payloadSha256 } from "../src/pipeline/idempotency";
import { newestPerDevice } from "../src/pipeline/rows";
import { LATEST_FROM_STAGE } from "../src/pipeline/sql";
import { makeDevice, makeOrganisation, type TestDevice } from "../src/testing/fixtures";

const BATCHES = Number(process.env.BENCH_BATCHES ?? 60);
const ROWS = Number(process.env.BENCH_BATCH_ROWS ?? 650);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1_000) / 4;
const CLK_TCK = 100;

function ticks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

let stopServer = async () => {};
let serverUrl = process.env.BENCH_DATABASE_URL;
if (!serverUrl) {
  const dir = await mkdtemp(join(tmpdir(), "vakt-statement-cost-"));
  const server = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
  serverUrl = server.url;
  stopServer = async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
const db = await createTestDatabase({ serverUrl, poolMax: 2 });
try {
  const org = await makeOrganisation(db.pool);
  const devices: TestDevice[] = [];
  for (let i = 0; i < DEVICES; i++) devices.push(await makeDevice(db.pool, org, { recipient: true }));
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
  const client = await db.pool.connect();
  const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid as number;
  await client.query(`BEGIN; ${STAGING_SQL}; COMMIT`);
  // BENCH_SQL: statements to run first (a schema change to compare).
  if (process.env.BENCH_SQL) await client.query(process.env.BENCH_SQL);
  const now = Date.now();
  let seq = 0;
  const batch = (): StoreDecision[] =>
    Array.from({ length: ROWS }, () => {
      const d = devices[seq % devices.length] as TestDevice;
      const t = now - 3_600_000 + seq * 3;
      const id = `p${seq++}`;
      const payload = JSON.stringify({ v: 1, id, fix: { t, lat: 59.9, lon: 10.7, accM: 8, batteryPct: 80 } });
      const r = decide(`vakt/v1/d/${d.serial}/up/position`, Buffer.from(payload), now, (s) => refs.get(s), {
        maxPayloadBytes: 65_536,
      });
      if (r.kind !== "store") throw new Error("not stored");
      return r;
    });
  const cost = new Map<string, number>();
  const step = async (name: string, run: () => Promise<unknown>) => {
    const t0 = ticks(pid);
    await run();
    cost.set(name, (cost.get(name) ?? 0) + ticks(pid) - t0);
  };
  for (let b = 0; b < BATCHES; b++) {
    const stores = batch();
    const positions = stores.flatMap((s) => s.positions);
    const raws = stores.map((s) => s.raw);
    const shas = stores.map(payloadSha256);
    await step("BEGIN + SAVEPOINT", () => client.query("BEGIN; SAVEPOINT straight_copy"));
    await step("COPY positions", () => copyData(client, POSITIONS_COPY_BINARY, positionsBinary(positions)));
    await step("COPY device_messages", () => copyData(client, MESSAGES_COPY_BINARY, messagesBinary(raws)));
    await step("COPY uplink_ids", () =>
      copyData(client, UPLINK_IDS_COPY_BINARY, uplinkIdsBinary(stores, shas) as Buffer),
    );
    await step("COPY stage_latest", () =>
      copyData(client, LATEST_COPY_BINARY, latestBinary(newestPerDevice(positions))),
    );
    await step("upsert latest_positions", () => client.query(LATEST_FROM_STAGE));
    await step("COMMIT", () => client.query("COMMIT"));
  }
  client.release();
  const positions = BATCHES * ROWS;
  let total = 0;
  console.log(
    `PostgreSQL CPU per position by statement: ${BATCHES} batches of ${ROWS} positions from ${DEVICES} devices`,
  );
  for (const [name, t] of cost) {
    const us = ((t / CLK_TCK) * 1e6) / positions;
    total += us;
    console.log(
      `  ${name.padEnd(26)} ${us.toFixed(2).padStart(6)} µs per position, ${((t / CLK_TCK / BATCHES) * 1000).toFixed(2)} ms a batch`,
    );
  }
  console.log(`  ${"all".padEnd(26)} ${total.toFixed(2).padStart(6)} µs per position`);
} finally {
  await db.drop();
  await stopServer();
}
process.exit(0);
