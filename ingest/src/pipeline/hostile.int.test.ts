/**
 * The writer under hostile content, against a real database: whatever a
 * device sends ends as stored rows or as exactly one dead letter with a
 * reason, and no lane stalls. Generated payloads go through decide and the
 * writer; content the database refuses (built past decide, as a bug in decide
 * would let through) is isolated by splitting; a message that fails alone
 * while others commit is kept; the database away stalls nothing silently; and
 * idempotency holds per protocol.
 */
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../metrics";
import { makeDevice, makeOrganisation, type TestDevice, type TestOrganisation } from "../testing/fixtures";
import { testLogger } from "../testing/harness";
import { hostilePayload } from "../testing/hostile";
import { owntracksDecision } from "../trackers/owntracks";
import { type Decision, type DeviceRef, decide, type StoreDecision } from "./decide";
import { BatchWriter, laneIndex, type PendingMessage } from "./writer";

let db: TestDatabase;
let org: TestOrganisation;
const devices: TestDevice[] = [];
beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 8 });
  org = await makeOrganisation(db.pool);
  for (let i = 0; i < 8; i++) devices.push(await makeDevice(db.pool, org, { recipient: true }));
});
afterAll(async () => {
  await db?.drop();
});

const ref = (d: TestDevice): DeviceRef => ({
  id: d.id,
  serial: d.serial,
  organisationId: org.orgId,
  departmentId: org.deptId,
  recipientId: d.recipientId,
});
const lookup = (serial: string) => {
  const d = devices.find((x) => x.serial === serial);
  return d ? ref(d) : undefined;
};

function writer(pool: pg.Pool = db.pool, extra: Partial<ConstructorParameters<typeof BatchWriter>[0]> = {}) {
  return new BatchWriter({
    pool,
    logger: testLogger,
    metrics: createMetrics(),
    maxRows: 200,
    maxWaitMs: 5,
    maxConcurrent: 4,
    ...extra,
  });
}

/** Adds messages and resolves with how each was answered once every one is acked (or the timeout). */
async function run(w: BatchWriter, decisions: Decision[]): Promise<{ acked: number; nacked: number }> {
  let acked = 0;
  let nacked = 0;
  await new Promise<void>((resolve) => {
    if (decisions.length === 0) resolve();
    const done = () => {
      if (acked + nacked === decisions.length) resolve();
    };
    for (const decision of decisions) {
      const m: PendingMessage = {
        decision,
        receivedAt: Date.now(),
        ack: () => {
          acked++;
          done();
        },
        nack: () => {
          nacked++;
          done();
        },
      };
      w.add(m);
    }
  });
  return { acked, nacked };
}

const count = async (sql: string, params: unknown[] = []) =>
  Number((await db.pool.query<{ n: string }>(sql, params)).rows[0]?.n);

describe("hostile content through decide and the writer", () => {
  it("stores or dead-letters every generated payload exactly once, on any topic, with no lane stalled", async () => {
    const start = Date.now();
    let n = 0;
    let slowest = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(hostilePayload({ serials: devices.slice(6).map((d) => d.serial), now: start }), {
          minLength: 1,
          maxLength: 60,
        }),
        async (messages) => {
          const t0 = Date.now();
          const w = writer();
          const decisions = messages.map((m) =>
            m.topic.startsWith("owntracks/")
              ? owntracksDecision(m.topic, m.payload, Date.now(), lookup, 65_536)
              : decide(m.topic, m.payload, Date.now(), lookup, { maxPayloadBytes: 65_536 }),
          );
          const before = await count("SELECT count(*) n FROM dead_letters");
          const messagesBefore = await count(
            "SELECT count(*) n FROM device_messages WHERE direction = 'uplink'",
          );
          const { acked } = await run(w, decisions);
          expect(acked).toBe(messages.length);
          expect(w.stalled()).toEqual([]);
          const dead = decisions.filter((d) => d.kind === "dead_letter").length;
          const stored = decisions.length - dead;
          // A message that turned out to conflict with a stored one is a dead letter too: one each.
          const deadAfter = (await count("SELECT count(*) n FROM dead_letters")) - before;
          const loggedAfter =
            (await count("SELECT count(*) n FROM device_messages WHERE direction = 'uplink'")) -
            messagesBefore;
          expect(deadAfter).toBeGreaterThanOrEqual(dead);
          expect(deadAfter + loggedAfter).toBeLessThanOrEqual(dead + stored);
          await w.drain();
          n += messages.length;
          slowest = Math.max(slowest, Date.now() - t0);
        },
      ),
      { numRuns: 40 },
    );
    console.log(`hostile decide+writer: ${n} generated messages, slowest run ${slowest} ms`);
    // Every dead letter has a reason and keeps bytes.
    expect(await count("SELECT count(*) n FROM dead_letters WHERE reason IS NULL OR payload IS NULL")).toBe(
      0,
    );
  });

  it("isolates a message the database refuses by splitting its batch; the rest commits", async () => {
    const d = devices[0] as TestDevice;
    const base = Date.now() - 60_000;
    const decisions: Decision[] = [];
    for (let i = 0; i < 64; i++) {
      const payload = JSON.stringify({ v: 1, id: `split-${i}`, fix: { t: base + i, lat: 59.9, lon: 10.7 } });
      const decision = decide(`vakt/v1/d/${d.serial}/up/position`, Buffer.from(payload), Date.now(), lookup, {
        maxPayloadBytes: 65_536,
      }) as StoreDecision;
      expect(decision.kind).toBe("store");
      decisions.push(decision);
    }
    // Past decide, as a bug in it would let through: the raw log's text refuses a NUL character.
    const poisoned = [7, 40];
    for (const i of poisoned) {
      const s = decisions[i] as StoreDecision;
      s.raw = { ...s.raw, payloadText: s.raw.payloadText.replace('"v":1', '"v":1,"x":"\u0000"') };
    }
    const { acked } = await run(writer(), decisions);
    expect(acked).toBe(64);
    expect(
      await count("SELECT count(*) n FROM positions WHERE device_id = $1 AND message_id LIKE 'split-%'", [
        d.id,
      ]),
    ).toBe(62);
    const dead = await db.pool.query(
      "SELECT reason, detail, payload_excerpt FROM dead_letters WHERE device_id = $1 AND reason = 'storage_rejected'",
      [d.id],
    );
    expect(dead.rows).toHaveLength(2);
    for (const r of dead.rows) expect(r.detail).toMatch(/^22021/);
  });

  it("keeps a message that fails alone with a connection-like error while others commit (storage_failed)", async () => {
    const d = devices[1] as TestDevice;
    const base = Date.now() - 50_000;
    // A pool whose connections fail any statement carrying the poisoned message id, like a driver bug would.
    const pool = new pg.Pool({ connectionString: db.url, max: 4 });
    const connect = pool.connect.bind(pool);
    (pool as unknown as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
      const client = await connect();
      const query = client.query.bind(client) as (...a: unknown[]) => unknown;
      (client as unknown as { query: (...a: unknown[]) => unknown }).query = (...args: unknown[]) => {
        // The values, whether passed beside the text or inside a named statement's config.
        if (JSON.stringify(args).includes("poison-me")) {
          return Promise.reject(new Error("Connection terminated unexpectedly"));
        }
        return query(...args);
      };
      return client;
    };
    const decisions: Decision[] = ["a", "poison-me", "b", "c"].map((id, i) =>
      decide(
        `vakt/v1/d/${d.serial}/up/position`,
        Buffer.from(JSON.stringify({ v: 1, id, fix: { t: base + i, lat: 59.9, lon: 10.7 } })),
        Date.now(),
        lookup,
        { maxPayloadBytes: 65_536 },
      ),
    );
    const w = writer(pool, { useCopy: false, maxRows: 10, maxWaitMs: 50 });
    // Another device, in another lane, keeps committing, so the database is visibly there.
    // The writer's lane of a device (a dead letter of the device goes where its messages go).
    const laneOf = (x: TestDevice) =>
      laneIndex({ kind: "dead_letter", row: { deviceId: x.id } } as unknown as Decision, 4);
    // A device of its own, made until one lands in another lane (lanes hash the random id).
    let other = await makeDevice(db.pool, org, { recipient: true });
    while (laneOf(other) === laneOf(d)) other = await makeDevice(db.pool, org, { recipient: true });
    devices.push(other); // so the look-up finds it
    const ticker = setInterval(() => {
      const t = Date.now() - 40_000 + Math.floor(Math.random() * 1e6);
      w.add({
        decision: decide(
          `vakt/v1/d/${other.serial}/up/position`,
          Buffer.from(JSON.stringify({ v: 1, id: `tick-${t}`, fix: { t, lat: 59, lon: 10 } })),
          Date.now(),
          lookup,
          { maxPayloadBytes: 65_536 },
        ),
        receivedAt: Date.now(),
        ack: () => {},
      });
    }, 50);
    const { acked } = await run(w, decisions);
    clearInterval(ticker);
    await w.drain();
    await pool.end();
    expect(acked).toBe(4);
    expect(await count("SELECT count(*) n FROM positions WHERE device_id = $1", [d.id])).toBe(3);
    const dead = await db.pool.query("SELECT reason FROM dead_letters WHERE device_id = $1", [d.id]);
    expect(dead.rows).toEqual([{ reason: "storage_failed" }]);
  });

  it("reports a lane stalled while the database is away, and drain gives up without acknowledging", async () => {
    const d = devices[3] as TestDevice;
    // Nothing listens there: every connection attempt fails.
    const away = new pg.Pool({
      connectionString: "postgres://postgres@127.0.0.1:9/none",
      connectionTimeoutMillis: 200,
    });
    away.on("error", () => {});
    const w = writer(away, { stallAfterMs: 300 });
    let acked = 0;
    let nacked = 0;
    w.add({
      decision: decide(
        `vakt/v1/d/${d.serial}/up/position`,
        Buffer.from(JSON.stringify({ v: 1, id: "away-1", fix: { t: Date.now() - 1_000, lat: 59, lon: 10 } })),
        Date.now(),
        lookup,
        { maxPayloadBytes: 65_536 },
      ),
      receivedAt: Date.now(),
      ack: () => acked++,
      nack: () => nacked++,
    });
    expect(w.stalled()).toEqual([]);
    await new Promise((r) => setTimeout(r, 700));
    const stalled = w.stalled();
    expect(stalled).toHaveLength(1);
    expect(stalled[0]?.lane).toMatch(/^positions-\d$/);
    expect(stalled[0]?.waitingS).toBeGreaterThan(0.3);
    const t0 = Date.now();
    const drained = await w.drain(300);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(drained.abandoned).toBe(1);
    expect({ acked, nacked }).toEqual({ acked: 0, nacked: 1 });
    await away.end();
  });
});

describe("idempotency per protocol", () => {
  const native = (d: TestDevice, body: object) =>
    decide(`vakt/v1/d/${d.serial}/up/position`, Buffer.from(JSON.stringify(body)), Date.now(), lookup, {
      maxPayloadBytes: 65_536,
    });

  it("stores a redelivery once, and keeps a reused message id with other content as conflicting_message_id", async () => {
    const d = devices[4] as TestDevice;
    const t = Date.now() - 30_000;
    const first = { v: 1, id: "reused", fix: { t, lat: 59.91, lon: 10.75 } };
    await run(writer(), [native(d, first)]);
    // Alone (the careful path) and inside a large batch (the straight COPY meets the unique key).
    for (const copy of [false, true]) {
      const filler = copy
        ? Array.from({ length: 80 }, (_, i) =>
            native(d, { v: 1, id: `fill-${i}`, fix: { t: t + 100 + i, lat: 59, lon: 10 } }),
          )
        : [];
      const { acked } = await run(writer(db.pool, { maxRows: 500, maxWaitMs: 20 }), [
        native(d, first),
        native(d, { v: 1, id: "reused", fix: { t: t + 5_000 + (copy ? 1 : 0), lat: 60.1, lon: 11 } }),
        ...filler,
      ]);
      expect(acked).toBe(2 + filler.length);
    }
    expect(
      await count("SELECT count(*) n FROM positions WHERE device_id = $1 AND message_id = 'reused'", [d.id]),
    ).toBe(1);
    const dead = await db.pool.query("SELECT reason FROM dead_letters WHERE device_id = $1 ORDER BY id", [
      d.id,
    ]);
    expect(dead.rows).toEqual([{ reason: "conflicting_message_id" }, { reason: "conflicting_message_id" }]);
  });

  it("keeps a second, different fix at one time as conflicting_fix (native, OwnTracks location and transition)", async () => {
    const d = devices[5] as TestDevice;
    const t = Math.floor((Date.now() - 20_000) / 1000) * 1000;
    const a = native(d, { v: 1, id: "fa", fix: { t, lat: 59.1, lon: 10.1 } });
    const b = native(d, { v: 1, id: "fb", fix: { t, lat: 59.2, lon: 10.2 } });
    const same = native(d, { v: 1, id: "fc", fix: { t, lat: 59.1, lon: 10.1 } });
    const ot = (body: object) =>
      owntracksDecision(
        `owntracks/u/${d.serial}`,
        Buffer.from(JSON.stringify(body)),
        Date.now(),
        lookup,
        65_536,
      );
    const tst = t / 1000 + 10;
    const loc = ot({ _type: "location", lat: 59.3, lon: 10.3, tst });
    const tr = ot({
      _type: "transition",
      lat: 59.4,
      lon: 10.4,
      tst,
      event: "leave",
      desc: "home",
      acc: 10,
      t: "c",
    });
    const { acked } = await run(writer(), [a, b, same, loc, tr]);
    expect(acked).toBe(5);
    expect(await count("SELECT count(*) n FROM positions WHERE device_id = $1", [d.id])).toBe(2);
    const dead = await db.pool.query("SELECT reason FROM dead_letters WHERE device_id = $1 ORDER BY id", [
      d.id,
    ]);
    expect(dead.rows.map((r) => r.reason).sort()).toEqual(["conflicting_fix", "conflicting_fix"]);
    // The same fix under another id is no conflict: stored as a message, its position once.
    expect(
      await count("SELECT count(*) n FROM device_messages WHERE device_id = $1 AND message_id = 'fc'", [
        d.id,
      ]),
    ).toBe(1);
  });

  it("raises an alarm once for a redelivery, and keeps another alarm under a reused id as conflicting_message_id", async () => {
    const d = devices[6 - 1] as TestDevice;
    const t = Date.now() - 10_000;
    const alarm = (body: object) =>
      decide(`vakt/v1/d/${d.serial}/up/alarm`, Buffer.from(JSON.stringify(body)), Date.now(), lookup, {
        maxPayloadBytes: 65_536,
      });
    const first = { v: 1, id: "al-1", t, type: "sos", fix: { t, lat: 59.5, lon: 10.5 } };
    for (const body of [
      first,
      first,
      { ...first, t: t + 7, type: "fall", fix: { t: t + 7, lat: 61, lon: 11 } },
    ]) {
      expect((await run(writer(), [alarm(body)])).acked).toBe(1);
    }
    expect(await count("SELECT count(*) n FROM alarms WHERE device_id = $1", [d.id])).toBe(1);
    expect(
      await count("SELECT count(*) n FROM positions WHERE device_id = $1 AND message_id = 'al-1'", [d.id]),
    ).toBe(1);
    const dead = await db.pool.query(
      "SELECT reason FROM dead_letters WHERE device_id = $1 AND detail LIKE 'alarm id%'",
      [d.id],
    );
    expect(dead.rows).toEqual([{ reason: "conflicting_message_id" }]);
  });
});

describe("dead letters nobody owns", () => {
  it("are listed for the site by the dead-letters command, counted by reason", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const topic = `vakt/v1/d/NOBODY-${Date.now()}/up/position`;
    const decision = decide(topic, Buffer.from('{"v":1,"id":"x\\u0000"}'), Date.now(), lookup, {
      maxPayloadBytes: 65_536,
    });
    expect(decision.kind).toBe("dead_letter");
    expect((await run(writer(), [decision])).acked).toBe(1);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "src/cli/dead-letters.ts", "--unowned", "--reason", "unknown_device", "--payload"],
      { env: { ...process.env, DATABASE_URL: db.url }, cwd: new URL("../..", import.meta.url).pathname },
    );
    const lines = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const mine = lines.find((l) => l.topic === topic);
    expect(mine).toMatchObject({ reason: "unknown_device", organisation_id: null, device_id: null });
    expect(Buffer.from(mine.payloadBase64, "base64").toString()).toBe('{"v":1,"id":"x\\u0000"}');
    expect(lines.at(-1).byReason.unknown_device).toBeGreaterThanOrEqual(1);
  });
});
