/**
 * commitBatch against a real database: large batches COPY straight into the
 * tables, and a batch that holds something already stored (a redelivery)
 * falls back to staging with ON CONFLICT DO NOTHING, storing nothing twice and
 * counting only what is new; small batches and large ones store the same rows.
 */
import { EVENTS_CHANNEL } from "@vakt/schemas";
import { createRuntimeLogin, createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDevice, makeOrganisation } from "../testing/fixtures";
import { roundHalfEven } from "./copy-binary";
import { decide, type StoreDecision } from "./decide";
import { commitBatch } from "./store";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
});
afterAll(async () => {
  await db?.drop();
});

async function devices(n: number) {
  const org = await makeOrganisation(db.pool);
  const list = [];
  for (let i = 0; i < n; i++) list.push({ ...(await makeDevice(db.pool, org, { recipient: true })), org });
  return list;
}

function stores(
  list: Awaited<ReturnType<typeof devices>>,
  from: number,
  to: number,
  base: number,
  battery = 55.5,
): StoreDecision[] {
  const out: StoreDecision[] = [];
  for (let n = from; n < to; n++) {
    const d = list[n % list.length] as (typeof list)[number];
    const payload = JSON.stringify({
      v: 1,
      id: `m${n}`,
      fix: { t: base + n * 1_000, lat: 59.9, lon: 10.7, accM: 5, batteryPct: battery, source: "wifi" },
    });
    const decision = decide(
      `vakt/v1/d/${d.serial}/up/position`,
      Buffer.from(payload),
      Date.now(),
      () => ({
        id: d.id,
        serial: d.serial,
        organisationId: d.org.orgId,
        departmentId: d.org.deptId,
        recipientId: d.recipientId,
      }),
      { maxPayloadBytes: 65_536 },
    );
    if (decision.kind !== "store") throw new Error("expected a store decision");
    out.push(decision);
  }
  return out;
}

const countOf = async (sql: string, params: unknown[]) =>
  Number((await db.pool.query<{ n: string }>(sql, params)).rows[0]?.n);

describe("commitBatch", () => {
  it("works as the runtime role (not superuser, owns nothing): COPY straight in and through temporary staging", async () => {
    const rt = await createRuntimeLogin(db, 2);
    try {
      const list = await devices(3);
      const ids = list.map((d) => d.id);
      const base = Date.now() - 7_200_000;
      const first = await commitBatch(rt.pool, { stores: stores(list, 0, 150, base), deadLetters: [] });
      expect(first.positionsInserted).toBe(150);
      const second = await commitBatch(rt.pool, { stores: stores(list, 100, 200, base), deadLetters: [] });
      expect(second.positionsInserted).toBe(50);
      expect(await countOf("SELECT count(*) n FROM positions WHERE device_id = ANY($1)", [ids])).toBe(200);
      const who = await rt.pool.query<{ rolsuper: boolean }>(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
      );
      expect(who.rows[0]?.rolsuper).toBe(false);
    } finally {
      await rt.drop();
    }
  });

  it("COPYs a large batch straight in and falls back to ON CONFLICT for a redelivered one", async () => {
    const list = await devices(5);
    const ids = list.map((d) => d.id);
    const base = Date.now() - 3_600_000;
    const first = await commitBatch(db.pool, { stores: stores(list, 0, 200, base), deadLetters: [] });
    expect(first.positionsInserted).toBe(200);
    // 100 already stored (redelivered) and 100 new, in one batch.
    const second = await commitBatch(db.pool, { stores: stores(list, 100, 300, base), deadLetters: [] });
    expect(second.positionsInserted).toBe(100);
    expect(await countOf("SELECT count(*) n FROM positions WHERE device_id = ANY($1)", [ids])).toBe(300);
    expect(
      await countOf(
        "SELECT count(DISTINCT (device_id, message_id)) n FROM positions WHERE device_id = ANY($1)",
        [ids],
      ),
    ).toBe(300);
    expect(await countOf("SELECT count(*) n FROM device_messages WHERE device_id = ANY($1)", [ids])).toBe(
      300,
    );
    // A late batch does not move latest_positions back.
    await commitBatch(db.pool, { stores: stores(list, 0, 100, base - 1_000_000), deadLetters: [] });
    const latest = await db.pool.query<{
      device_id: string;
      t: string;
      battery_percent: number;
      source: string;
    }>(
      `SELECT device_id, (extract(epoch FROM time) * 1000)::bigint::text AS t, battery_percent, source
       FROM latest_positions WHERE device_id = ANY($1)`,
      [ids],
    );
    expect(latest.rows).toHaveLength(5);
    for (const row of latest.rows) {
      const i = list.findIndex((d) => d.id === row.device_id);
      expect(Number(row.t)).toBe(base + (295 + i) * 1_000);
      expect(row.battery_percent).toBe(56);
      expect(row.source).toBe("wifi");
    }
  });

  it("stores a redelivered dead letter once, and an equal payload sent anew again", async () => {
    const [d] = await devices(1);
    if (!d) throw new Error("no device");
    const topic = `vakt/v1/d/${d.serial}/up/position`;
    const bad = (payload: string) => {
      const decision = decide(topic, Buffer.from(payload), Date.now(), () => undefined, {
        maxPayloadBytes: 65_536,
      });
      if (decision.kind !== "dead_letter") throw new Error("expected a dead letter");
      return decision.row;
    };
    const count = () => countOf("SELECT count(*) n FROM dead_letters WHERE topic = $1", [topic]);
    await commitBatch(db.pool, { stores: [], deadLetters: [bad("{not json")] });
    expect(await count()).toBe(1);
    // The broker sends it again (DUP) because the PUBACK never came: already stored.
    await commitBatch(db.pool, { stores: [], deadLetters: [{ ...bad("{not json"), redelivered: true }] });
    expect(await count()).toBe(1);
    // A redelivery of a different payload, and the same payload published again (no DUP): both new.
    await commitBatch(db.pool, {
      stores: [],
      deadLetters: [{ ...bad("{other"), redelivered: true }, bad("{not json")],
    });
    expect(await count()).toBe(3);
  });

  it("stores the same values through COPY and through multi-row INSERT", async () => {
    const list = await devices(2);
    const base = Date.now() - 7_200_000;
    // Halves round to even in PostgreSQL's round(float8); the straight COPY must agree.
    await commitBatch(db.pool, { stores: stores(list, 0, 100, base, 2.5), deadLetters: [] });
    await commitBatch(db.pool, {
      stores: stores(list, 100, 102, base, 2.5),
      deadLetters: [],
      copyMinRows: Number.POSITIVE_INFINITY,
    });
    const r = await db.pool.query<{ battery_percent: number; accuracy_m: number; source: string; n: string }>(
      `SELECT battery_percent, accuracy_m, source, count(*) n FROM positions WHERE device_id = ANY($1)
       GROUP BY 1, 2, 3`,
      [list.map((d) => d.id)],
    );
    expect(r.rows).toEqual([{ battery_percent: 2, accuracy_m: 5, source: "wifi", n: "102" }]);
    const raw = await db.pool.query<{ payload: { id: string } }>(
      "SELECT payload_text::jsonb AS payload FROM device_messages WHERE device_id = $1 AND message_id = 'm100'",
      [list[0]?.id],
    );
    expect(raw.rows[0]?.payload.id).toBe("m100");
  });

  it("announces every device the batch changed, at commit, each once (device.changed)", async () => {
    const list = await devices(5);
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const events: { kind: string; deviceId?: string }[] = [];
    listener.on("notification", (n) => events.push(JSON.parse(n.payload ?? "{}")));
    await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
    try {
      // Five devices come online with a battery reading: five changed rows in one batch, COPY or not.
      await commitBatch(db.pool, { stores: stores(list, 0, 100, Date.now() - 600_000), deadLetters: [] });
      await commitBatch(db.pool, {
        stores: stores(list, 100, 105, Date.now() - 500_000, 70),
        deadLetters: [],
      });
      // A round trip on the listener's connection: the notifications sent before it have arrived.
      await listener.query("SELECT 1");
      const mine = (id: string) => events.filter((e) => e.kind === "device.changed" && e.deviceId === id);
      for (const d of list) expect(mine(d.id)).toHaveLength(2);
    } finally {
      await listener.end();
    }
  });

  it("rounds halves to even like PostgreSQL", () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, 99.5, 100].map(roundHalfEven)).toEqual([
      0, 2, 2, 4, 2, 3, 100, 100,
    ]);
  });

  it("writes an alarm's device row as any batch does: received before the device went away, it does not bring it back", async () => {
    const [d] = await devices(1);
    if (!d) throw new Error("no device");
    const ref = {
      id: d.id,
      serial: d.serial,
      organisationId: d.org.orgId,
      departmentId: d.org.deptId,
      recipientId: d.recipientId,
    };
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: -600_000, max: 600_000 }),
        fc.boolean(),
        async (offset, wasOnline) => {
          // The device went away (its will, or the drop the broker reported) at `wentAway`.
          const wentAway = Date.now() - 1_800_000 + n * 1_000;
          // online first (its trigger stamps offline_since with now()), then when it really went away.
          await db.pool.query("UPDATE devices SET online = $2 WHERE id = $1", [d.id, wasOnline]);
          await db.pool.query(
            `UPDATE devices SET offline_since = timestamptz 'epoch' + $2::bigint * interval '1 millisecond'
               WHERE id = $1 AND NOT online`,
            [d.id, wentAway],
          );
          const receivedAt = wentAway + offset;
          const t = receivedAt - 2_000;
          const body = { v: 1, id: `aftermath-${n++}`, t, type: "sos", fix: { t, lat: 59.9, lon: 10.7 } };
          const alarm = decide(
            `vakt/v1/d/${d.serial}/up/alarm`,
            Buffer.from(JSON.stringify(body)),
            receivedAt,
            () => ref,
            {
              maxPayloadBytes: 65_536,
            },
          );
          if (alarm.kind !== "store") throw new Error("expected a store decision");
          const result = await commitBatch(db.pool, { stores: [alarm], deadLetters: [] });
          expect(result.alarms).toHaveLength(1);
          await result.aftermath?.(db.pool);
          const row = (
            await db.pool.query<{ online: boolean }>("SELECT online FROM devices WHERE id = $1", [d.id])
          ).rows[0];
          // Online unless it had gone away after the alarm was received.
          expect(row?.online).toBe(wasOnline || offset >= 0);
        },
      ),
      { numRuns: 40 },
    );
  });
});
