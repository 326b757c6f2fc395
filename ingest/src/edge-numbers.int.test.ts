/**
 * Every number a device contract admits is stored: real clients (MQTT to the shipped Mosquitto,
 * HTTP to the OsmAnd edge) send positions and alarms whose values are generated over each field's
 * whole range and its float4 edges (5e-324 and 1e39 are out of range for PostgreSQL's `real`; a
 * heading of 359.99999 is 360 as a float4 and fails the column's CHECK). Before storableReal such a
 * message became a dead letter and its position or alarm was lost; now each is stored, none is
 * refused, and the raw log keeps the text as sent. Times too: an OwnTracks transition's region time
 * (`wtst`, any whole number of seconds) once made the transitions insert throw, and its lane
 * retried it forever while a quarter of the devices waited.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ingest } from "./ingest";
import { makeDevice, makeOrganisation, type TestDevice } from "./testing/fixtures";
import { count, eventually, type Harness, startHarness, startHttpIngest } from "./testing/harness";
import { contractDouble, contractFix } from "./testing/hostile";

let h: Harness;
let ingest: Ingest;
let base: string;
let native: TestDevice;
let owntracks: TestDevice;
let osmand: TestDevice;

beforeAll(async () => {
  h = await startHarness();
  ({ ingest, base } = await startHttpIngest(h, "ingest-edge-numbers", {
    INGEST_HTTP_REFUSALS_PER_MINUTE: 1_000_000,
  }));
  const org = await makeOrganisation(h.db.pool);
  native = await makeDevice(h.db.pool, org, { recipient: true });
  owntracks = await makeDevice(h.db.pool, org, { recipient: true, protocol: "owntracks" });
  osmand = await makeDevice(h.db.pool, org, { recipient: true, protocol: "osmand" });
});

afterAll(async () => {
  await ingest?.stop();
  await h?.close();
});

const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const huge = fc.constantFrom(1e39, 3.5e38, 1e300, Number.MAX_VALUE);
const unbounded = fc.oneof(
  contractDouble(-1e6, 1e6),
  huge,
  huge.map((x) => -x),
);

const owntracksFix = fc.record(
  {
    lat: contractDouble(-90, 90),
    lon: contractDouble(-180, 180),
    acc: optional(fc.oneof(contractDouble(0, 1e6), huge)),
    alt: optional(unbounded),
    vel: optional(fc.oneof(contractDouble(0, 1e6), huge)),
    cog: optional(contractDouble(0, 360)),
    batt: optional(contractDouble(0, 100)),
  },
  { requiredKeys: ["lat", "lon"] },
);
const osmandFix = fc.record(
  {
    lat: contractDouble(-90, 90),
    lon: contractDouble(-180, 180),
    accuracy: optional(fc.oneof(contractDouble(0, 1e6), huge)),
    altitude: optional(unbounded),
    speed: optional(fc.oneof(contractDouble(0, 1e6), huge)),
    heading: optional(fc.oneof(contractDouble(0, 360), huge)),
  },
  { requiredKeys: ["lat", "lon"] },
);

type OsmandFix = typeof osmandFix extends fc.Arbitrary<infer T> ? T : never;

/** A region's time as the schema admits it: any whole number of seconds from 0, near now or absurd. */
const wtst = fc.oneof(
  fc.constantFrom(0, 8.64e12, 8.64e12 + 1, 1e13, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.integer({ min: 946_684_800, max: Math.floor(Date.now() / 1000) }),
);

let second = Math.floor(Date.now() / 1000) - 86_400;
/** A fix time of its own for every message (positions are keyed by device and time). */
const nextSecond = () => ++second;

const capped = (x: number | undefined, max: number) => (x === undefined ? undefined : Math.min(x, max));

async function postOsmand(f: OsmandFix, json: boolean): Promise<number> {
  const t = nextSecond();
  const body = json
    ? JSON.stringify({
        device_id: osmand.osmandId,
        location: {
          timestamp: new Date(t * 1000).toISOString(),
          coords: {
            latitude: f.lat,
            longitude: f.lon,
            accuracy: f.accuracy,
            altitude: f.altitude,
            speed: f.speed,
            heading: f.heading,
          },
        },
      })
    : new URLSearchParams({
        id: osmand.osmandId as string,
        timestamp: String(t),
        ...Object.fromEntries(
          // The query form bounds speed (700 knots) and bearing (360); the JSON body does not.
          Object.entries({
            ...f,
            speed: capped(f.speed, 700),
            heading: undefined,
            bearing: capped(f.heading, 360),
          })
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k, String(v)]),
        ),
      }).toString();
  const res = await fetch(`${base}/`, {
    method: "POST",
    body,
    headers: { "content-type": json ? "application/json" : "application/x-www-form-urlencoded" },
  });
  await res.arrayBuffer();
  return res.status;
}

describe("numbers at the edges of what the contracts admit", () => {
  it("stores every generated position and alarm, from every protocol, and refuses none", async () => {
    const sim = await h.connectSim();
    const sent = { native: 0, alarms: 0, owntracks: 0, transitions: 0, osmand: 0 };
    await fc.assert(
      fc.asyncProperty(
        contractFix,
        contractFix,
        owntracksFix,
        osmandFix,
        fc.boolean(),
        wtst,
        async (p, a, o, q, json, w) => {
          const n = sent.native++;
          await sim.publishAsync(
            `vakt/v1/d/${native.serial}/up/position`,
            JSON.stringify({ v: 1, id: `p${n}`, fix: { t: nextSecond() * 1000, ...p } }),
            { qos: 1 },
          );
          const t = nextSecond() * 1000;
          await sim.publishAsync(
            `vakt/v1/d/${native.serial}/up/alarm`,
            JSON.stringify({ v: 1, id: `a${sent.alarms++}`, t, type: "sos", fix: { t, ...a } }),
            { qos: 1 },
          );
          sent.owntracks++;
          await sim.publishAsync(
            `owntracks/anna/${owntracks.serial}`,
            JSON.stringify({ _type: "location", tst: nextSecond(), ...o }),
            { qos: 1 },
          );
          sent.owntracks++;
          sent.transitions++;
          await sim.publishAsync(
            `owntracks/anna/${owntracks.serial}/event`,
            JSON.stringify({
              _type: "transition",
              tst: nextSecond(),
              wtst: w,
              event: "enter",
              lat: o.lat,
              lon: o.lon,
              acc: o.acc,
            }),
            { qos: 1 },
          );
          sent.osmand++;
          expect(await postOsmand(q, json)).toBe(200);
        },
      ),
      { numRuns: 60 },
    );
    const ids = [native.id, owntracks.id, osmand.id];
    const stored = async (device: string) =>
      count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [device]);
    await eventually(
      async () =>
        (await stored(native.id)) === sent.native + sent.alarms &&
        (await stored(owntracks.id)) === sent.owntracks &&
        (await stored(osmand.id)) === sent.osmand
          ? true
          : undefined,
      "every position stored",
      20_000,
    ).catch(async (err) => {
      const reasons = await h.db.pool.query(
        "SELECT reason, detail FROM dead_letters WHERE device_id = ANY($1) LIMIT 5",
        [ids],
      );
      throw new Error(`${(err as Error).message}; dead letters: ${JSON.stringify(reasons.rows)}`);
    });
    expect(await count(h.db.pool, "SELECT count(*) n FROM alarms WHERE device_id = $1", [native.id])).toBe(
      sent.alarms,
    );
    expect(
      await count(h.db.pool, "SELECT count(*) n FROM dead_letters WHERE device_id = ANY($1)", [ids]),
    ).toBe(0);
    expect(
      await count(h.db.pool, "SELECT count(*) n FROM device_transitions WHERE device_id = $1", [
        owntracks.id,
      ]),
    ).toBe(sent.transitions);
    // A heading that rounds to 360 as a float4 is north; nothing stored is at or past the CHECK's bound.
    expect(
      await count(
        h.db.pool,
        "SELECT count(*) n FROM positions WHERE device_id = ANY($1) AND heading_deg >= 360",
        [ids],
      ),
    ).toBe(0);
  });
});
