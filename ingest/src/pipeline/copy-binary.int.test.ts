/**
 * The bulk path COPYs in PostgreSQL's binary format (copy-binary.ts); the small path INSERTs with
 * text parameters. Over generated fixes (every value the device contract admits, its edges, and
 * every optional field left out), both must store the same rows in positions, the raw log, the
 * uplink ids and the newest positions: a value encoded wrongly would differ here, not only in a
 * console at night.
 */
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  makeDevice,
  makeOrganisation,
  refOf,
  type TestDevice,
  type TestOrganisation,
} from "../testing/fixtures";
import { contractFix } from "../testing/hostile";
import { owntracksDecision } from "../trackers/owntracks";
import { decide, type StoreDecision } from "./decide";
import { commitBatch } from "./store";

let db: TestDatabase;
let org: TestOrganisation;
beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
  org = await makeOrganisation(db.pool);
});
afterAll(async () => {
  await db?.drop();
});

const messageArb = fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/),
  fixes: fc.array(contractFix, { minLength: 1, maxLength: 3 }),
  spaced: fc.boolean(),
});

type GeneratedMessage = typeof messageArb extends fc.Arbitrary<infer T> ? T : never;

function decisions(device: TestDevice, messages: GeneratedMessage[], base: number) {
  const out: StoreDecision[] = [];
  messages.forEach((m, i) => {
    const fixes = m.fixes.map((f, k) => ({ t: base + i * 10 + k, ...f }));
    const body =
      fixes.length === 1 ? { v: 1, id: `${m.id}-${i}`, fix: fixes[0] } : { v: 1, id: `${m.id}-${i}`, fixes };
    const text = JSON.stringify(body, null, m.spaced ? 2 : undefined);
    const d = decide(
      `vakt/v1/d/${device.serial}/up/position`,
      Buffer.from(text),
      Date.now(),
      () => refOf(device, org),
      { maxPayloadBytes: 65_536 },
    );
    if (d.kind !== "store") throw new Error(`not stored: ${text}`);
    out.push(d);
  });
  return out;
}

/** What the device has stored, with its own ids taken out so two devices compare. */
async function stored(device: TestDevice) {
  const q = async (sql: string) =>
    (await db.pool.query(sql, [device.id])).rows.map((r) =>
      JSON.parse(JSON.stringify(r).replaceAll(device.id, "D").replaceAll(device.serial, "S")),
    );
  return {
    positions: await q(`SELECT time, organisation_id, recipient_id IS NOT NULL AS recipient, message_id,
                               lat, lon, accuracy_m, speed_mps, heading_deg, altitude_m, source, battery_percent
                        FROM positions WHERE device_id = $1 ORDER BY time`),
    messages: await q(`SELECT time, organisation_id, direction, topic, message_id, kind, payload_text, payload
                       FROM device_messages WHERE device_id = $1 ORDER BY time, message_id`),
    ids: await q(
      "SELECT message_id, payload_sha256 FROM uplink_ids WHERE device_id = $1 ORDER BY message_id",
    ),
    latest:
      await q(`SELECT time, organisation_id, recipient_id IS NOT NULL AS recipient, lat, lon, accuracy_m,
                            speed_mps, heading_deg, source, battery_percent
                     FROM latest_positions WHERE device_id = $1`),
  };
}

describe("binary COPY", () => {
  it("stores what the multi-row INSERT stores, for any fixes the contract admits", async () => {
    let batches = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(messageArb, { minLength: 1, maxLength: 12 }), async (messages) => {
        const copied = await makeDevice(db.pool, org, { recipient: true });
        const inserted = await makeDevice(db.pool, org, { recipient: true });
        const base = Date.now() - 3_600_000;
        await commitBatch(db.pool, {
          stores: decisions(copied, messages, base),
          deadLetters: [],
          copyMinRows: 1,
        });
        await commitBatch(db.pool, {
          stores: decisions(inserted, messages, base),
          deadLetters: [],
          copyMinRows: Number.POSITIVE_INFINITY,
          straight: false,
        });
        const a = await stored(copied);
        expect(a.positions.length).toBe(messages.reduce((n, m) => n + m.fixes.length, 0));
        expect(a).toEqual(await stored(inserted));
        batches++;
      }),
      { numRuns: 60 },
    );
    expect(batches).toBe(60);
  });

  it("keeps any text an app sends, as sent, in the raw log (OwnTracks carries free text, in the topic too)", async () => {
    const device = await makeDevice(db.pool, org, { recipient: true, protocol: "owntracks" });
    const lookup = () => refOf(device, org);
    let tst = Math.floor(Date.now() / 1000) - 86_400;
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: fc.constantFrom("grapheme", "binary"), maxLength: 300 }), {
          minLength: 1,
          maxLength: 5,
        }),
        // The topic's user part is the app's to choose: short texts take copy-binary's byte-by-byte path.
        fc
          .string({ unit: "grapheme", minLength: 1, maxLength: 12 })
          .filter((u) => !/[/+#]/.test(u) && !u.includes(String.fromCharCode(0))),
        fc.boolean(),
        async (texts, user, bulk) => {
          const stores: StoreDecision[] = [];
          for (const tid of texts) {
            const payload = JSON.stringify({ _type: "location", tst: ++tst, lat: 59.9, lon: 10.7, tid });
            const d = owntracksDecision(
              `owntracks/${user}/${device.serial}`,
              Buffer.from(payload),
              Date.now(),
              lookup,
              65_536,
            );
            // NUL and lone surrogates are refused before storage (storable.ts); everything else is kept.
            if (d.kind === "store") stores.push(d);
          }
          await commitBatch(db.pool, {
            stores,
            deadLetters: [],
            copyMinRows: bulk ? 1 : Number.POSITIVE_INFINITY,
          });
          const { rows } = await db.pool.query<{ topic: string; payload_text: string }>(
            "SELECT topic, payload_text FROM device_messages WHERE device_id = $1 AND message_id = ANY($2) ORDER BY time",
            [device.id, stores.map((s) => s.raw.messageId)],
          );
          expect(rows).toEqual(stores.map((s) => ({ topic: s.raw.topic, payload_text: s.raw.payloadText })));
          stored += rows.length;
        },
      ),
      { numRuns: 60 },
    );
    expect(stored).toBeGreaterThan(60);
  });
});
