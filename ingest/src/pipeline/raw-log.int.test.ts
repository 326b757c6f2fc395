/**
 * The raw device-message log keeps what arrived, character for character, whichever way a batch
 * is stored (one statement, the careful way, COPY, COPY falling back to staging, the alarm lane):
 * keys in the device's order, a repeated key kept, numbers and escapes as the device spelled them,
 * whitespace and all. Generated messages that mean the same as a plain one but are written every
 * way JSON allows; a log that re-serialised them (jsonb did) fails here.
 */
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDevice, makeOrganisation } from "../testing/fixtures";
import { decide, type StoreDecision } from "./decide";
import { commitBatch } from "./store";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
});
afterAll(async () => {
  await db?.drop();
});

/** A JSON value to spell: numbers and strings keep their meaning however they are written. */
type Value = number | string | boolean | { [k: string]: Value };

const space = fc.stringMatching(/^[ \t\n\r]{0,3}$/);

/** Spellings of a number with the same value (what JSON.parse reads back equal). */
function spellNumber(n: number) {
  const plain = String(n);
  if (!Number.isInteger(n)) return fc.constantFrom(plain, `${plain}0`, `${plain}e0`, `${plain}E+0`);
  return fc.constantFrom(plain, `${plain}.0`, `${plain}e0`, `${plain}.00E0`, `${n * 10}e-1`);
}

/** Spellings of a string: each character as itself or as a \u escape. */
function spellString(s: string) {
  return fc
    .array(fc.boolean(), { minLength: s.length, maxLength: s.length })
    .map(
      (escaped) =>
        `"${[...s].map((c, i) => (escaped[i] ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : c)).join("")}"`,
    );
}

function spell(v: Value): fc.Arbitrary<string> {
  if (typeof v === "number") return spellNumber(v);
  if (typeof v === "string") return spellString(v);
  if (typeof v === "boolean") return fc.constant(String(v));
  const entries = Object.entries(v);
  return fc
    .tuple(
      fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }),
      fc.tuple(...entries.map(([, child]) => spell(child))),
      fc.array(space, { minLength: 4 * entries.length + 2, maxLength: 4 * entries.length + 2 }),
      // A key given twice, the first time with another value: JSON.parse keeps the last.
      fc.option(fc.constantFrom(...entries.map(([k]) => k))),
    )
    .map(([order, spelled, ws, twice]) => {
      const text = new Map(entries.map(([k], i) => [k, spelled[i] as string]));
      let w = 0;
      const sp = () => ws[w++ % ws.length] as string;
      const parts = order.map(([k]) => `${sp()}"${k}"${sp()}:${sp()}${text.get(k)}`);
      if (twice !== null) parts.unshift(`${sp()}"${twice}":${sp()}"overwritten"`);
      return `{${parts.join(",")}${sp()}}`;
    });
}

let seq = 0;
const base = Date.now() - 3_600_000;

/** A message of `kind` as a plain object with fresh id and time. */
function message(kind: "position" | "alarm"): Value {
  const n = seq++;
  const t = base + n * 1_000;
  const fix = { t, lat: 59.91, lon: 10.75, accM: 8, batteryPct: 57, source: "gps" };
  return kind === "position" ? { v: 1, id: `raw${n}`, fix } : { v: 1, id: `alarm${n}`, t, type: "sos", fix };
}

describe("the raw device-message log", () => {
  it("holds each message as the text that arrived, on every path a batch can take", async () => {
    const org = await makeOrganisation(db.pool);
    const device = await makeDevice(db.pool, org, { recipient: true });
    const ref = {
      id: device.id,
      serial: device.serial,
      organisationId: org.orgId,
      departmentId: org.deptId,
      recipientId: device.recipientId,
    };
    const path = fc.constantFrom("straight", "careful", "copy", "copy-redelivered", "alarm-lane");
    await fc.assert(
      fc.asyncProperty(
        path,
        fc
          .integer({ min: 1, max: 4 })
          .chain((n) => fc.tuple(...Array.from({ length: n }, () => spell(message("position"))))),
        fc.constant(null).chain(() => spell(message("alarm"))),
        async (how, positionTexts, alarmText) => {
          const texts = how === "alarm-lane" ? [alarmText] : positionTexts;
          const decided = texts.map((text) => {
            const topic = `vakt/v1/d/${device.serial}/up/${how === "alarm-lane" ? "alarm" : "position"}`;
            const d = decide(topic, Buffer.from(text), Date.now(), () => ref, { maxPayloadBytes: 65_536 });
            if (d.kind !== "store") throw new Error(`not stored: ${JSON.stringify(d)} for ${text}`);
            return d;
          });
          const stores: StoreDecision[] = decided;
          if (how === "copy-redelivered") {
            // The first message is stored already: the straight COPY fails on its key and the batch
            // goes through staging.
            await commitBatch(db.pool, { stores: stores.slice(0, 1), deadLetters: [] });
          }
          await commitBatch(db.pool, {
            stores,
            deadLetters: [],
            copyMinRows: how === "copy" || how === "copy-redelivered" ? 1 : Number.POSITIVE_INFINITY,
            straight: how === "straight",
          });
          const ids = decided.map((d) => d.raw.messageId);
          const { rows } = await db.pool.query<{
            message_id: string;
            payload_text: string;
            payload: unknown;
          }>(
            "SELECT message_id, payload_text, payload FROM device_messages WHERE device_id = $1 AND message_id = ANY($2)",
            [device.id, ids],
          );
          expect(rows).toHaveLength(texts.length);
          const logged = new Map(rows.map((r) => [r.message_id, r]));
          for (const [i, text] of texts.entries()) {
            const row = logged.get(ids[i] as string);
            expect(row?.payload_text).toBe(text);
            expect(row?.payload).toBeNull();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("refuses a row that holds neither the text nor the older jsonb, or both", async () => {
    const org = await makeOrganisation(db.pool);
    const device = await makeDevice(db.pool, org);
    const insert = (payload: string | null, text: string | null) =>
      db.pool.query(
        `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind,
                                      payload, payload_text)
         VALUES (now(), $1, $2, 'uplink', 't', $3, 'position', $4::jsonb, $5)`,
        [device.id, org.orgId, `c${seq++}`, payload, text],
      );
    await expect(insert(null, null)).rejects.toMatchObject({ code: "23514" });
    await expect(insert("{}", "{}")).rejects.toMatchObject({ code: "23514" });
    await insert("{}", null); // a row as written before 0283
    await insert(null, "{}");
  });
});
