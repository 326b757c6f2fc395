/**
 * Properties of `decide` for arbitrary topics and payload bytes (the abuse lab's
 * MQTT payload half; a device publishing to another device's topics is refused
 * by the broker's ACL, proven in src/broker/security.int.test.ts, so it is not repeated
 * here):
 *
 * - it never throws, whatever arrives;
 * - it returns either a store decision for the device named by the topic, or a
 *   dead letter with one of the known reasons, a bounded excerpt without NUL
 *   bytes (PostgreSQL text cannot hold them) and the true payload size;
 * - a store decision only comes from a well-formed, in-range message, keeps
 *   the message id and payload text verbatim, and its rows all belong to the
 *   looked-up device;
 * - over-size payloads are always `payload_too_large`, whatever they contain.
 */
import { uplinkKinds, uplinkTopic } from "@vakt/schemas";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  DEAD_LETTER_EXCERPT_BYTES,
  type Decision,
  type DeviceRef,
  deadLetterReasons,
  decide,
} from "./decide";

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const device: DeviceRef = {
  id: "7a0c1c9e-0000-4000-8000-000000000001",
  serial: "SN-1",
  organisationId: "7a0c1c9e-0000-4000-8000-0000000000aa",
  departmentId: "7a0c1c9e-0000-4000-8000-0000000000bb",
  recipientId: null,
};
const lookup = (serial: string) => (serial === device.serial ? device : undefined);
const MAX = 4_096;
const opts = { maxPayloadBytes: MAX };
let cases = 0;

const INJECTION = [
  "'; DROP TABLE positions; --",
  "<script>alert(1)</script>",
  "\u0000",
  "\uFFFF",
  "../../etc/passwd",
  "__proto__",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a hostile string, not a template
  "${jndi:ldap://x}",
];

/** Topics near and far from the real ones: wildcards, other devices, downlinks, unicode, empty levels. */
const topic = fc.oneof(
  fc.constantFrom(...uplinkKinds).map((k) => uplinkTopic(device.serial, k)),
  fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...uplinkKinds)).map(([s, k]) => uplinkTopic(s, k)),
  fc.constantFrom(
    "vakt/v1/d/SN-1/down/config",
    "vakt/v1/d/+/up/position",
    "vakt/v1/d/#",
    "vakt/v1/d//up/alarm",
    "vakt/v1/d/SN-1/up/alarm/extra",
    "vakt/v2/d/SN-1/up/position",
    "owntracks/u/SN-1",
    "",
    "/",
    "vakt/v1/d/SN-1\u0000/up/alarm",
  ),
  fc.string({ maxLength: 80, unit: "binary" }),
);

const fixArb = fc.record(
  {
    t: fc.oneof(
      fc.integer({ min: NOW - 86_400_000, max: NOW }),
      fc.integer({ min: 0, max: 5_000_000_000_000 }),
    ),
    lat: fc.oneof(fc.double({ min: -90, max: 90, noNaN: true }), fc.double({ min: -120, max: 120 })),
    lon: fc.oneof(fc.double({ min: -180, max: 180, noNaN: true }), fc.double({ min: -200, max: 200 })),
    accM: fc.oneof(fc.integer({ min: 0, max: 500 }), fc.double({ min: -10, max: 200_000 })),
    batteryPct: fc.integer({ min: -5, max: 120 }),
    source: fc.constantFrom("gps", "wifi", "cell", "other", "nope"),
  },
  { requiredKeys: ["t", "lat", "lon"] },
);
/** Messages shaped like the contract for each kind, with values mostly in range and sometimes out. */
const idArb = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/), fc.constantFrom(...INJECTION));
const tArb = fc.oneof(
  fc.integer({ min: NOW - 86_400_000, max: NOW }),
  fc.integer({ min: 0, max: 5_000_000_000_000 }),
);
const messageFor = (kind: (typeof uplinkKinds)[number]): fc.Arbitrary<Record<string, unknown>> =>
  kind === "position"
    ? fc.oneof(
        fc.record({ v: fc.constantFrom(1, 1, 1, 2), id: idArb, fix: fixArb }),
        fc.record({ v: fc.constant(1), id: idArb, fixes: fc.array(fixArb, { minLength: 0, maxLength: 4 }) }),
      )
    : kind === "status"
      ? fc.record(
          {
            v: fc.constant(1),
            id: idArb,
            t: tArb,
            batteryPct: fc.integer({ min: -5, max: 120 }),
            firmware: fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom(...INJECTION)),
          },
          { requiredKeys: ["v", "id", "t"] },
        )
      : fc.record(
          {
            v: fc.constant(1),
            id: idArb,
            t: tArb,
            type: fc.constantFrom("sos", "fall", "out_of_bed", "no_movement", "power_off", "other", "boom"),
            fix: fixArb,
          },
          { requiredKeys: ["v", "id", "t", "type"] },
        );
const messageLike = fc.constantFrom(...uplinkKinds).chain(messageFor);
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
const payload = fc.oneof(
  messageLike.map((m) => utf8(JSON.stringify(m))),
  fc.jsonValue().map((j) => utf8(JSON.stringify(j) ?? "null")),
  fc.uint8Array({ maxLength: 300 }),
  fc.string({ maxLength: 300, unit: "binary" }).map(utf8),
  fc.constantFrom(...INJECTION, "{", "[]", "null", '{"v":1,"id":"x","fix":{"t":1e309}}').map(utf8),
  fc.integer({ min: MAX - 2, max: MAX + 64 }).map((n) => utf8(`{"v":1,"id":"big","pad":"${"x".repeat(n)}"}`)),
);

function checkInvariants(t: string, bytes: Uint8Array, d: Decision) {
  if (d.kind === "dead_letter") {
    expect(deadLetterReasons).toContain(d.row.reason);
    expect(d.row.payloadBytes).toBe(bytes.byteLength);
    expect(d.row.payloadExcerpt.includes("\u0000")).toBe(false);
    expect(Buffer.byteLength(d.row.payloadExcerpt)).toBeLessThanOrEqual(DEAD_LETTER_EXCERPT_BYTES * 3);
    expect(d.row.topic.length).toBeLessThanOrEqual(512);
    expect(d.row.receivedAt).toBe(NOW);
    if (bytes.byteLength > MAX) expect(d.row.reason).toBe("payload_too_large");
    return;
  }
  expect(d.kind).toBe("store");
  expect(bytes.byteLength).toBeLessThanOrEqual(MAX);
  expect(d.device).toBe(device);
  expect(t).toBe(uplinkTopic(device.serial, d.uplink));
  const text = Buffer.from(bytes).toString("utf8");
  const json = JSON.parse(text) as { id: string };
  expect(d.raw.payloadText).toBe(text);
  expect(d.raw.messageId).toBe(json.id);
  for (const p of d.positions) {
    expect(p.deviceId).toBe(device.id);
    expect(p.organisationId).toBe(device.organisationId);
    expect(p.messageId).toBe(json.id);
    expect(Math.abs(p.lat)).toBeLessThanOrEqual(90);
    expect(Math.abs(p.lon)).toBeLessThanOrEqual(180);
    expect(p.time).toBeGreaterThanOrEqual(Date.UTC(2000, 0, 1));
    expect(p.time).toBeLessThanOrEqual(NOW + 24 * 3_600_000);
  }
  if (d.uplink === "position") expect(d.positions.length).toBeGreaterThan(0);
  if (d.uplink === "alarm") expect(d.alarm?.messageId).toBe(json.id);
}

describe("decide: properties over arbitrary topics and payloads", () => {
  afterAll(() => {
    console.log(`decide properties: ${cases} topic/payload cases tried`);
  });

  it("never throws; stores only well-formed messages for the topic's device, else dead-letters with a reason", () => {
    fc.assert(
      fc.property(topic, payload, (t, bytes) => {
        cases++;
        const d = decide(t, bytes, NOW, lookup, opts);
        checkInvariants(t, bytes, d);
      }),
      { numRuns: 5_000 },
    );
  });

  it("stores contract-shaped messages on the device's own topics when every value is in range", () => {
    let stored = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...uplinkKinds).chain((kind) => fc.tuple(fc.constant(kind), messageFor(kind))),
        ([kind, m]) => {
          cases++;
          const bytes = utf8(JSON.stringify(m));
          const d = decide(uplinkTopic(device.serial, kind), bytes, NOW, lookup, opts);
          checkInvariants(uplinkTopic(device.serial, kind), bytes, d);
          if (d.kind === "store") stored++;
        },
      ),
      { numRuns: 3_000 },
    );
    // Not vacuous: a good share of the generated messages are valid and stored.
    expect(stored).toBeGreaterThan(30);
  });

  it("keeps injection text in a message id and firmware verbatim in the raw log (stored as data)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...INJECTION.filter((s) => !s.includes("\u0000"))), (text) => {
        cases++;
        const body = { v: 1, id: "inj-1", t: NOW - 1_000, firmware: text };
        const bytes = utf8(JSON.stringify(body));
        const d = decide(uplinkTopic(device.serial, "status"), bytes, NOW, lookup, opts);
        if (d.kind !== "store") throw new Error(`expected store, got ${JSON.stringify(d.row)}`);
        expect(d.status?.firmware).toBe(text);
        expect(JSON.parse(d.raw.payloadText).firmware).toBe(text);
      }),
    );
  });

  it("dead-letters any payload over the limit as payload_too_large, on any topic", () => {
    fc.assert(
      fc.property(topic, fc.integer({ min: MAX + 1, max: MAX * 4 }), fc.integer(), (t, size, seed) => {
        cases++;
        const bytes = new Uint8Array(size).fill(seed & 0xff);
        const d = decide(t, bytes, NOW, lookup, opts);
        expect(d.kind).toBe("dead_letter");
        if (d.kind === "dead_letter") {
          expect(d.row.reason).toBe("payload_too_large");
          expect(d.row.payloadExcerpt.length).toBeLessThanOrEqual(DEAD_LETTER_EXCERPT_BYTES);
        }
      }),
      { numRuns: 300 },
    );
  });
});
