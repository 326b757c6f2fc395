/**
 * The one-statement path for small batches (straight.ts) against the careful path it falls back
 * to, on a real database: generated runs of small batches, with redeliveries, ids reused for other
 * content, fix and status times reused, several messages of one device in one batch, multi-fix
 * messages and statuses, are stored once each way (two organisations, mirrored devices); every
 * table, every batch's result and every NOTIFY must come out the same.
 */
import { EVENTS_CHANNEL } from "@vakt/schemas";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDevice, makeOrganisation } from "../testing/fixtures";
import { type DeviceRef, decide, type StoreDecision } from "./decide";
import { commitBatch } from "./store";

let db: TestDatabase;
let listener: pg.Client;
const heard: string[] = [];
beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
  listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on("notification", (n) => heard.push(n.payload ?? ""));
  await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
});
afterAll(async () => {
  await listener?.end();
  await db?.drop();
});

const DEVICES = 3;
const base = Date.now() - 3_600_000;

/** One message of a run: which device, which id, what it says (kind and a small content seed). */
const messageArb = fc.record({
  device: fc.integer({ min: 0, max: DEVICES - 1 }),
  // Few ids and times, so redeliveries and reuses are common.
  id: fc.integer({ min: 0, max: 12 }),
  t: fc.integer({ min: 0, max: 10 }),
  kind: fc.constantFrom("position", "position", "positions", "status"),
  seed: fc.integer({ min: 0, max: 2 }),
  battery: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  charging: fc.option(fc.boolean(), { nil: undefined }),
});
type Message = typeof messageArb extends fc.Arbitrary<infer T> ? T : never;
const runArb = fc.array(fc.array(messageArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 });

function payloadOf(m: Message): { topic: string; body: unknown } {
  const at = base + m.t * 1_000;
  const fixAt = (dt: number) => ({ t: at + dt, lat: 59.9 + m.seed / 100, lon: 10.7, batteryPct: m.battery });
  if (m.kind === "status")
    return {
      topic: "status",
      body: { v: 1, id: `s${m.id}`, t: at, batteryPct: m.battery, charging: m.charging },
    };
  if (m.kind === "positions")
    return { topic: "position", body: { v: 1, id: `p${m.id}`, fixes: [fixAt(0), fixAt(500)] } };
  return { topic: "position", body: { v: 1, id: `p${m.id}`, fix: fixAt(0) } };
}

function storeOf(device: DeviceRef & { serial: string }, m: Message): StoreDecision {
  const { topic, body } = payloadOf(m);
  const decision = decide(
    `vakt/v1/d/${device.serial}/up/${topic}`,
    Buffer.from(JSON.stringify(body)),
    base + 60_000,
    () => device,
    { maxPayloadBytes: 65_536 },
  );
  if (decision.kind !== "store") throw new Error(`expected a store decision: ${JSON.stringify(decision)}`);
  return decision;
}

async function fleet() {
  const org = await makeOrganisation(db.pool);
  const out: (DeviceRef & { serial: string })[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const d = await makeDevice(db.pool, org, { recipient: true });
    out.push({
      id: d.id,
      serial: d.serial,
      organisationId: org.orgId,
      departmentId: org.deptId,
      recipientId: d.recipientId,
    });
  }
  return out;
}

/** Everything the batches wrote for these devices, with each device as its index (the two orgs differ in ids). */
async function stateOf(devices: readonly DeviceRef[]) {
  const ids = devices.map((d) => d.id);
  const q = async (sql: string) =>
    (await db.pool.query(sql, [ids])).rows.map((r) => ({ ...r, device: ids.indexOf(r.device) }));
  const sorted = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).sort();
  return {
    positions: sorted(
      await q(`SELECT device_id AS device, message_id, time, lat, lon, battery_percent FROM positions
                WHERE device_id = ANY($1)`),
    ),
    raw: sorted(
      await q(`SELECT device_id AS device, message_id, time, kind, payload_text, payload FROM device_messages
                WHERE device_id = ANY($1)`),
    ),
    uplinkIds: sorted(
      await q(
        "SELECT device_id AS device, message_id, payload_sha256 FROM uplink_ids WHERE device_id = ANY($1)",
      ),
    ),
    statuses: sorted(
      await q(`SELECT device_id AS device, message_id, time, battery_percent, charging FROM device_status
                WHERE device_id = ANY($1)`),
    ),
    latest: sorted(
      await q(`SELECT device_id AS device, time, lat, lon, battery_percent FROM latest_positions
                WHERE device_id = ANY($1)`),
    ),
    devices: sorted(
      await q(`SELECT id AS device, last_seen_at, battery_percent, charging, online FROM devices
                WHERE id = ANY($1)`),
    ),
    deadLetters: sorted(
      (
        await db.pool.query(
          "SELECT device_id AS device, reason, payload_sha256 FROM dead_letters WHERE device_id = ANY($1)",
          [ids],
        )
      ).rows.map((r) => ({ ...r, device: ids.indexOf(r.device) })),
    ),
  };
}

/** The NOTIFYs heard while `run` ran, with device ids as indexes. */
async function notified(devices: readonly DeviceRef[], run: () => Promise<unknown>) {
  heard.length = 0;
  await run();
  // A NOTIFY arrives after its commit: a round trip on the listener's connection lets it in.
  await listener.query("SELECT 1");
  const ids = devices.map((d) => d.id);
  return heard
    .map((p) => JSON.parse(p) as { kind: string; deviceId?: string })
    .map((e) => `${e.kind}:${ids.indexOf(e.deviceId ?? "")}`)
    .sort();
}

describe("small batches in one statement", () => {
  it("store exactly what the careful path stores, batch by batch, and announce the same", async () => {
    await fc.assert(
      fc.asyncProperty(runArb, async (run) => {
        const straight = await fleet();
        const careful = await fleet();
        for (const batch of run) {
          const input = (devices: typeof straight, straightPath: boolean) => ({
            stores: batch.map((m) => storeOf(devices[m.device] as (typeof devices)[number], m)),
            deadLetters: [],
            straight: straightPath,
          });
          let a: Awaited<ReturnType<typeof commitBatch>> | undefined;
          let b: Awaited<ReturnType<typeof commitBatch>> | undefined;
          const heardA = await notified(straight, async () => {
            a = await commitBatch(db.pool, input(straight, true));
          });
          const heardB = await notified(careful, async () => {
            b = await commitBatch(db.pool, input(careful, false));
          });
          expect(a?.positionsInserted).toBe(b?.positionsInserted);
          expect(a?.events).toBe(b?.events);
          expect(a?.refused.map((r) => r.row.reason)).toEqual(b?.refused.map((r) => r.row.reason));
          expect(heardA).toEqual(heardB);
        }
        expect(await stateOf(straight)).toEqual(await stateOf(careful));
      }),
      { numRuns: 40 },
    );
  });

  it("takes one round trip for a batch with nothing stored before", async () => {
    const [d] = await fleet();
    if (!d) throw new Error("no device");
    const statements: string[] = [];
    // A pool whose connections count the statements they are sent.
    const counted = new pg.Pool({ connectionString: db.url, max: 1 });
    (counted as unknown as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
      const c = await db.pool.connect();
      const q = c.query.bind(c) as (...a: unknown[]) => unknown;
      (c as unknown as { query: (...a: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const first = args[0] as string | { text: string };
        statements.push(typeof first === "string" ? first : first.text);
        return q(...args);
      };
      return c;
    };
    const stores = [0, 1, 2].map((i) =>
      storeOf(d, { device: 0, id: i, t: i, kind: "position", seed: 0, battery: 50, charging: undefined }),
    );
    const r = await commitBatch(counted, { stores, deadLetters: [] });
    expect(r.positionsInserted).toBe(3);
    expect(statements).toHaveLength(1);
  });
});
