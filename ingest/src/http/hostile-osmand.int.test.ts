/**
 * The OsmAnd endpoint under hostile requests, generated: bodies of every content type holding
 * arbitrary bytes, deep nesting, NUL and invalid UTF-8, for a real device's identifier and for
 * none. Each is answered (200, 400, 401, 413; never 5xx, which the app would resend forever) and
 * leaves exactly one row: its stored fix or one dead letter with a reason.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ingest } from "../ingest";
import { makeDevice, makeOrganisation, type TestDevice } from "../testing/fixtures";
import { count, type Harness, startHarness, startHttpIngest } from "../testing/harness";

let h: Harness;
let ingest: Ingest;
let base: string;
let device: TestDevice;

beforeAll(async () => {
  h = await startHarness();
  ({ ingest, base } = await startHttpIngest(h, "ingest-hostile-osmand", {
    INGEST_HTTP_REFUSALS_PER_MINUTE: 1_000_000,
  }));
  device = await makeDevice(h.db.pool, await makeOrganisation(h.db.pool), { protocol: "osmand" });
});

afterAll(async () => {
  await ingest?.stop();
  await h?.close();
});

const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

/** A body an outsider or a broken app would send; `{id}` becomes the identifier under test. */
const hostileBody = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 33, max: 30_000 }).map((n) => `{"device_id":"{id}","location":${deep(n)}}`),
  fc.integer({ min: 33, max: 30_000 }).map((n) => `{"device_id":"{id}","x":${deep(n)}}`),
  fc.integer({ min: 33, max: 20_000 }).map((n) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`),
  fc.constantFrom(
    '{"device_id":"{id}","location":{"timestamp":"2026-12-01T00:00:00Z","coords":{"latitude":"\\u0000","longitude":1}}}',
    '{"device_id":"{id}","location":{"timestamp":"\\ud800","coords":{"latitude":1,"longitude":1}}}',
    '{"device_id":"{id}","location":{"timestamp":1e400,"coords":{"latitude":1e400,"longitude":-1e400}}}',
    '{"device_id":["{id}"]}',
    '{"device_id":"{id}","device_id":"other"}',
    "[]",
    "null",
    '"{id}"',
  ),
  fc
    .string({ unit: "binary", maxLength: 300 })
    .map((s) => `{"device_id":"{id}","location":${JSON.stringify(s)}}`),
  fc.string({ unit: "binary", maxLength: 300 }).map((s) => `id={id}&lat=${encodeURIComponent(s)}&lon=1`),
);

describe("OsmAnd endpoint under hostile requests", () => {
  it("answers every generated request without a 5xx and leaves exactly one row for each", async () => {
    const rows = async () =>
      (await count(h.db.pool, "SELECT count(*) n FROM dead_letters WHERE transport = 'http'")) +
      (await count(h.db.pool, "SELECT count(*) n FROM device_messages WHERE topic = 'osmand'"));
    const statuses = new Map<number, number>();
    let sent = 0;
    const before = await rows();
    await fc.assert(
      fc.asyncProperty(
        hostileBody,
        fc.constantFrom("application/json", "application/x-www-form-urlencoded", "text/plain", ""),
        fc.boolean(),
        async (body, type, authentic) => {
          const id = authentic ? device.osmandId : "nobody";
          const payload = typeof body === "string" ? body.replaceAll("{id}", id ?? "") : body;
          const res = await fetch(`${base}/`, {
            method: "POST",
            body: payload,
            headers: type ? { "content-type": type } : {},
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          sent++;
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect([200, 400, 401, 413]).toContain(res.status);
        },
      ),
      { numRuns: 300 },
    );
    // Every answer came after its row was committed.
    expect((await rows()) - before).toBe(sent);
    expect(await count(h.db.pool, "SELECT count(*) n FROM dead_letters WHERE reason = 'ingest_error'")).toBe(
      0,
    );
    console.log(`hostile OsmAnd requests: ${sent}, answers ${JSON.stringify(Object.fromEntries(statuses))}`);
  });

  it("refuses a body nested past the bound as invalid_json, naming the body", async () => {
    const res = await fetch(`${base}/`, {
      method: "POST",
      body: `{"device_id":"${device.osmandId}","location":${deep(5_000)}}`,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    const r = await h.db.pool.query(
      "SELECT reason, detail FROM dead_letters WHERE transport = 'http' ORDER BY id DESC LIMIT 1",
    );
    expect(r.rows).toEqual([{ reason: "invalid_json", detail: "body: nested deeper than 32 levels" }]);
  });
});
