/**
 * The requests of Traccar's own OsmAnd decoder test (OsmAndProtocolDecoderTest:
 * testDecodeQuery and testDecodeJson), sent with curl to the real ingest HTTP
 * port, each from a device of its own. Traccar's device ids are replaced by the
 * identifier issued to that device (Vakt authenticates per device); everything
 * else is as Traccar sends it. Where Traccar decodes a position, Vakt stores
 * one; the cell/wifi-only request is kept with its network data and no
 * position; the request without an id is refused, as Traccar refuses it.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ingest } from "../ingest";
import { makeDevice, makeOrganisation, type TestOrganisation } from "../testing/fixtures";
import { type Harness, startHarness, startHttpIngest } from "../testing/harness";

const run = promisify(execFile);
let h: Harness;
let ingest: Ingest;
let base: string;
let org: TestOrganisation;

beforeAll(async () => {
  h = await startHarness();
  ({ ingest, base } = await startHttpIngest(
    h,
    "vakt-ingest-traccar",
    { INGEST_HTTP_REFUSALS_PER_MINUTE: 1_000 },
    { supervise: false },
  ));
  org = await makeOrganisation(h.db.pool);
});

afterAll(async () => {
  await ingest?.stop();
  await h?.close();
});

/** curl's answer: the status code. */
async function curl(args: string[]): Promise<number> {
  const { stdout } = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", ...args]);
  return Number(stdout);
}

/** A fresh OsmAnd device; `request` with Traccar's id (in `id=`, `deviceid=` or `device_id`) replaced by its identifier. */
async function asNewDevice(request: string, traccarId: string) {
  const dev = await makeDevice(h.db.pool, org, { protocol: "osmand" });
  return { dev, request: request.split(traccarId).join(dev.osmandId as string) };
}

async function positionsOf(deviceId: string) {
  const r = await h.db.pool.query(
    `SELECT time, lat, lon, accuracy_m, altitude_m, speed_mps, heading_deg, battery_percent
       FROM positions WHERE device_id = $1`,
    [deviceId],
  );
  return r.rows;
}

const knots = (k: number) => (k * 1852) / 3600;

// testDecodeQuery, in Traccar's order (the cell/wifi-only and id-less requests have tests of their own).
const queryCases: { request: string; id: string; expected: Record<string, unknown> }[] = [
  {
    request:
      "/?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=0.0",
    id: "902064",
    // hdop is not metres: no accuracy.
    expected: {
      time: new Date("2016-01-27T18:55:47Z"),
      lat: 42.06288,
      lon: -88.23412,
      accuracy_m: null,
      altitude_m: 224,
      speed_mps: 0,
    },
  },
  {
    request:
      "/?id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0&altitude=224.0&speed=0.0",
    id: "902064",
    expected: { time: new Date(1442068686579), accuracy_m: null, altitude_m: 224 },
  },
  {
    request:
      "/?lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&speed=0.0&id=353861053849681",
    id: "353861053849681",
    expected: { time: new Date("2014-06-04T09:10:11Z"), lat: 49.60688, lon: 6.15788, altitude_m: 384.7 },
  },
  {
    request: "/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0&speed=0.0&bearing=0.0&altitude=0&hdop=0.0",
    id: "123456",
    expected: { time: new Date(1377177267_000), lat: 60, lon: 30, heading_deg: 0, accuracy_m: null },
  },
  {
    request: "/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0",
    id: "123456",
    expected: { time: new Date(1377177267_000), lat: 60, lon: 30, speed_mps: null },
  },
  {
    // deviceid= instead of id=, no timestamp (the time of arrival), hacc/vacc Vakt does not read.
    request: "/?lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0&altitude=0&deviceid=123456",
    id: "123456",
    expected: { lat: 60, lon: 30, heading_deg: 0, altitude_m: 0, accuracy_m: null },
  },
  {
    request: "/?id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87",
    id: "861001000719969",
    expected: {
      lat: 41.666667,
      lon: -0.883333, // altitude and heading are real (single precision) columns.
      altitude_m: expect.closeTo(350.059479, 3),
      battery_percent: 87,
    },
  },
  {
    request: "/?id=123456&timestamp=1377177267&location=60.0,30.0",
    id: "123456",
    expected: { time: new Date(1377177267_000), lat: 60, lon: 30 },
  },
  {
    request:
      "/?id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24",
    id: "123456789012345",
    expected: {
      time: new Date(1504763810_000),
      lat: 40.7232948571,
      lon: -74.0061408571,
      heading_deg: expect.closeTo(7.19889788244, 4),
    },
  },
];

describe("Traccar's OsmAnd query cases, with curl", () => {
  it.each(queryCases)("$request", async ({ request, id, expected }) => {
    const r = await asNewDevice(request, id);
    expect(await curl([`${base}${r.request}`])).toBe(200);
    const rows = await positionsOf(r.dev.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject(expected);
    const speed = /speed=([\d.]+)/.exec(request)?.[1];
    if (speed !== undefined) expect(rows[0].speed_mps).toBeCloseTo(knots(Number(speed)), 6);
  });

  it("also as a form POST (Traccar Client's other way)", async () => {
    const r = await asNewDevice(
      "id=123456&timestamp=1377177267&lat=60.0&lon=30.0&hdop=2.5&accuracy=7",
      "123456",
    );
    expect(await curl(["-X", "POST", "-d", r.request, `${base}/`])).toBe(200);
    // accuracy from `accuracy`, never from hdop; hdop kept as hdop in the raw log.
    expect(await positionsOf(r.dev.id)).toMatchObject([{ accuracy_m: 7 }]);
    const raw = await h.db.pool.query(
      "SELECT payload_text::jsonb->>'hdop' AS hdop FROM device_messages WHERE device_id = $1",
      [r.dev.id],
    );
    expect(raw.rows).toEqual([{ hdop: "2.5" }]);
  });

  it("keeps a cell/wifi-only request with its network data and no position", async () => {
    const r = await asNewDevice(
      "/?id=123456&timestamp=1377177267&cell=257,02,16,2224&cell=257,02,16,2223,-90&wifi=00-14-22-01-23-45,-80&wifi=00-1C-B3-09-85-15,-70",
      "123456",
    );
    expect(await curl([`${base}${r.request}`])).toBe(200);
    expect(await positionsOf(r.dev.id)).toEqual([]);
    const raw = await h.db.pool.query(
      "SELECT time, kind, payload_text::jsonb->'cell' AS cell, payload_text::jsonb->'wifi' AS wifi, payload_text::jsonb->>'id' AS id FROM device_messages WHERE device_id = $1",
      [r.dev.id],
    );
    expect(raw.rows).toEqual([
      {
        time: new Date(1377177267_000),
        kind: "osmand_network",
        cell: ["257,02,16,2224", "257,02,16,2223,-90"],
        wifi: ["00-14-22-01-23-45,-80", "00-1C-B3-09-85-15,-70"],
        id: "[redacted]",
      },
    ]);
    const d = await h.db.pool.query(
      "SELECT online, last_seen_at IS NOT NULL AS seen FROM devices WHERE id = $1",
      [r.dev.id],
    );
    expect(d.rows).toEqual([{ online: true, seen: true }]);
  });

  it("refuses a malformed cell or wifi value, naming it", async () => {
    const r = await asNewDevice(
      "/?id=123456&timestamp=1377177267&cell=257,02,16&wifi=00-14-22-01-23-45,-80",
      "123456",
    );
    expect(await curl([`${base}${r.request}`])).toBe(400);
    const dl = await h.db.pool.query("SELECT reason, detail FROM dead_letters WHERE device_id = $1", [
      r.dev.id,
    ]);
    expect(dl.rows).toEqual([
      { reason: "invalid_message", detail: "cell.0: expected mcc,mnc,lac,cid[,rssi]" },
    ]);
  });

  it("refuses the request without an id, as Traccar does, with a dead letter naming the field", async () => {
    const marker = 1377177267 + Math.floor(Math.random() * 1000);
    expect(await curl([`${base}/?timestamp=${marker}&lat=60.0&lon=30.0`])).toBe(400);
    const dl = await h.db.pool.query(
      "SELECT reason, detail FROM dead_letters WHERE payload_excerpt LIKE $1",
      [`%timestamp=${marker}%`],
    );
    expect(dl.rows).toEqual([
      { reason: "invalid_message", detail: "id: missing (send id, deviceid or device_id)" },
    ]);
  });

  it("leaves a dead letter naming the field for a 401 and a 413", async () => {
    const marker = `m${Date.now()}`;
    expect(await curl([`${base}/?id=not-issued&lat=60&lon=30&note=${marker}`])).toBe(401);
    expect(
      await curl(["-X", "POST", "-d", `id=x&pad=${"a".repeat(70_000)}`, `${base}/?note=${marker}`]),
    ).toBe(413);
    const dl = await h.db.pool.query(
      "SELECT reason, split_part(detail, ':', 1) AS field FROM dead_letters WHERE payload_excerpt LIKE $1 ORDER BY id",
      [`%${marker}%`],
    );
    expect(dl.rows).toEqual([
      { reason: "unknown_device", field: "id" },
      { reason: "payload_too_large", field: "body" },
    ]);
  });
});

// testDecodeJson (Traccar Client 9's JSON body), in Traccar's order.
const jsonCases: { body: string; id: string; expected: Record<string, unknown> }[] = [
  {
    body: '{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{},"_":"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"}',
    id: "48241179",
    expected: {
      time: new Date("2025-06-15T13:45:12.862Z"),
      lat: 37.4219983,
      lon: -122.084,
      accuracy_m: 5,
      speed_mps: 0,
      heading_deg: null,
      altitude_m: 5,
      battery_percent: 100,
    },
  },
  {
    body: '{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{"device_string_test":"long_device_id","device_bool_test":true,"device_bool_false_test":false,"device_integer_test":1,"device_double_test":1.345,"device_very_long_double_test":1763636.3442},"_":"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"}',
    id: "48241179",
    expected: { lat: 37.4219983, heading_deg: null },
  },
  {
    body: '{"location":{"extras":{},"mock":true,"coords":{"speed_accuracy":-1,"speed":-1,"longitude":-122.406417,"ellipsoidal_altitude":0,"floor":null,"heading_accuracy":-1,"latitude":37.785834000000001,"accuracy":5,"altitude_accuracy":-1,"altitude":0,"heading":-1},"is_moving":false,"age":188,"odometer":0,"uuid":"2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8","event":"motionchange","battery":{"level":-1,"is_charging":false},"activity":{"type":"unknown","confidence":100},"timestamp":"2025-05-09T04:11:30.579Z"},"device_id":"658765"}',
    id: "658765",
    // -1: unknown speed, heading and battery level.
    expected: {
      time: new Date("2025-05-09T04:11:30.579Z"),
      lat: 37.785834,
      speed_mps: null,
      heading_deg: null,
      battery_percent: null,
    },
  },
  {
    body: '{"location":{"event":"motionchange","is_moving":false,"uuid":"0e9a2473-a9a7-4c00-997b-fb97d2154e75","timestamp":"2021-07-21T08:06:34.444Z","odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,"speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,"altitude":35.7,"altitude_accuracy":3.8},"activity":{"type":"still","confidence":100},"battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"}',
    id: "8737767034",
    expected: {
      lat: -6.1148096,
      lon: 106.6837015,
      accuracy_m: 3.8,
      speed_mps: 18.67,
      heading_deg: 63,
      altitude_m: 35.7,
      battery_percent: 79,
    },
  },
];

describe("Traccar's OsmAnd JSON cases, with curl", () => {
  it.each(jsonCases.map((c, i) => ({ ...c, n: i + 1 })))("JSON case $n", async ({ body, id, expected }) => {
    // The `_` field repeats the id inside a string: replaced too, so no other identifier travels along.
    const r = await asNewDevice(body, id);
    expect(
      await curl([
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "--data-binary",
        r.request,
        `${base}/`,
      ]),
    ).toBe(200);
    const rows = await positionsOf(r.dev.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject(expected);
    // The event (motionchange) is kept with the message.
    const raw = await h.db.pool.query(
      "SELECT payload_text::jsonb->'location'->>'event' AS event, payload_text::jsonb->>'device_id' AS device_id FROM device_messages WHERE device_id = $1",
      [r.dev.id],
    );
    expect(raw.rows).toEqual([{ event: "motionchange", device_id: "[redacted]" }]);
  });
});
