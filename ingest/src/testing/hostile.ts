/**
 * Generated hostile uplinks (fast-check): what a broken device, a fuzzer or an
 * attacker with one device's credentials could publish on topics that device
 * may use. Shared by the writer test and the hostile-input lab.
 */
import fc from "fast-check";

export interface HostileMessage {
  topic: string;
  payload: Uint8Array;
  /** Which family of attack made it (reported by the lab). */
  family: string;
}

const enc = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));

/** A JSON text with `"at": <raw>` spliced in, raw being any JSON fragment (or not JSON at all). */
function withField(base: Record<string, unknown>, path: readonly string[], raw: string): string {
  const marker = "__HOSTILE__";
  const copy = structuredClone(base) as Record<string, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) {
    if (typeof o[k] !== "object" || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[path[path.length - 1] as string] = marker;
  return JSON.stringify(copy).replace(`"${marker}"`, raw);
}

const mutations = fc.constantFrom(
  '"\\u0000"',
  '"a\\u0000b"',
  '"\\ud800"',
  '"\\udc00x"',
  '"\\ud83d\\ude00"',
  "1e400",
  "-1e400",
  "1e-400",
  "123456789012345678901234567890",
  "NaN",
  "Infinity",
  "null",
  "true",
  "[]",
  "{}",
  '""',
  '"59.9"',
  "-0",
  "0.00000000000000000001",
  "9007199254740993",
  `"${"x".repeat(5_000)}"`,
);

/** Every field of the contract's messages, and a few that are not. */
const fieldPaths = fc.constantFrom(
  ["v"],
  ["id"],
  ["t"],
  ["type"],
  ["fix", "t"],
  ["fix", "lat"],
  ["fix", "lon"],
  ["fix", "accM"],
  ["fix", "speedMps"],
  ["fix", "headingDeg"],
  ["fix", "altM"],
  ["fix", "source"],
  ["fix", "batteryPct"],
  ["batteryPct"],
  ["firmware"],
  ["signalDbm"],
  ["charging"],
  ["cancels"],
  ["extra"],
  ["fix", "extra"],
  ["\u0000"],
);

export function hostilePayload(o: {
  serials: string[];
  now: number;
  ids?: string[];
  /** Only odd millisecond times (a test keeps even ones for its valid stream). */
  oddTimes?: boolean;
}): fc.Arbitrary<HostileMessage> {
  const serial = fc.constantFrom(...o.serials);
  const kind = fc.constantFrom("position", "status", "alarm");
  const id = o.ids ? fc.constantFrom(...o.ids) : fc.stringMatching(/^[A-Za-z0-9._:-]{1,12}$/);
  const t = fc
    .integer({ min: o.now - 3_600_000, max: o.now - 1_000 })
    .map((x) => (o.oddTimes ? x - (x % 2) + 1 : x));
  const base = fc.record({
    id,
    t,
    lat: fc.double({ min: -90, max: 90, noNaN: true }),
    lon: fc.double({ min: -180, max: 180, noNaN: true }),
  });
  const contractTopic = fc.tuple(serial, kind).map(([s, k]) => `vakt/v1/d/${s}/up/${k}`);
  const shaped = (
    b: { id: string; t: number; lat: number; lon: number },
    k: string,
  ): Record<string, unknown> =>
    k === "position"
      ? { v: 1, id: b.id, fix: { t: b.t, lat: b.lat, lon: b.lon } }
      : k === "status"
        ? { v: 1, id: b.id, t: b.t, batteryPct: 50, firmware: "1.0" }
        : { v: 1, id: b.id, t: b.t, type: "sos", fix: { t: b.t, lat: b.lat, lon: b.lon } };

  return fc.oneof(
    // Arbitrary bytes on a contract topic.
    fc
      .tuple(contractTopic, fc.uint8Array({ maxLength: 600 }))
      .map(([topic, payload]) => ({ topic, payload, family: "bytes" })),
    // Contract-shaped JSON with one field mutated (NUL, lone surrogates, numbers beyond float range, ...).
    fc.tuple(serial, kind, base, fieldPaths, mutations).map(([s, k, b, path, raw]) => ({
      topic: `vakt/v1/d/${s}/up/${k}`,
      payload: enc(withField(shaped(b, k), path, raw)),
      family: "mutated-field",
    })),
    // Invalid UTF-8 inside a string.
    fc
      .tuple(
        serial,
        base,
        fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x00]),
      )
      .map(([s, b, bad]) => {
        const text = JSON.stringify({ v: 1, id: b.id, t: b.t, firmware: "AB" });
        const at = text.indexOf("AB") + 1;
        const bytes = Buffer.concat([
          Buffer.from(text.slice(0, at)),
          Buffer.from(bad),
          Buffer.from(text.slice(at)),
        ]);
        return { topic: `vakt/v1/d/${s}/up/status`, payload: new Uint8Array(bytes), family: "invalid-utf8" };
      }),
    // Deep nesting.
    fc
      .tuple(contractTopic, fc.integer({ min: 100, max: 30_000 }), fc.boolean())
      .map(([topic, depth, arrays]) => ({
        topic,
        payload: enc(
          arrays
            ? `{"v":1,"id":"deep","fix":${"[".repeat(depth)}${"]".repeat(depth)}}`
            : `{"v":1,"id":"deep","x":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`,
        ),
        family: "deep-nesting",
      })),
    // Oversized.
    fc.tuple(contractTopic, fc.integer({ min: 65_537, max: 70_000 })).map(([topic, n]) => ({
      topic,
      payload: enc(`{"v":1,"id":"big","pad":"${"p".repeat(n)}"}`),
      family: "oversized",
    })),
    // Topics outside the contract, under the device's own prefix.
    fc
      .tuple(
        serial,
        fc.constantFrom("up/position/extra", "up/foo", "up/", "up/alarm/x/y", "up/Position", "up/status/"),
        base,
      )
      .map(([s, rest, b]) => ({
        topic: `vakt/v1/d/${s}/${rest}`,
        payload: enc(JSON.stringify(shaped(b, "position"))),
        family: "topic-outside-contract",
      })),
    // An id reused with new content (with `ids`, a small pool makes reuse common).
    fc.tuple(serial, base, fc.double({ min: -90, max: 90, noNaN: true })).map(([s, b, lat]) => ({
      topic: `vakt/v1/d/${s}/up/position`,
      payload: enc(JSON.stringify({ v: 1, id: b.id, fix: { t: b.t, lat, lon: b.lon } })),
      family: "reused-id",
    })),
    // OwnTracks with hostile strings.
    fc.tuple(serial, base, mutations).map(([s, b, raw]) => ({
      topic: `owntracks/u/${s}`,
      payload: enc(
        withField({ _type: "location", lat: b.lat, lon: b.lon, tst: Math.floor(b.t / 1000) }, ["tid"], raw),
      ),
      family: "owntracks",
    })),
  );
}

/**
 * Any double a contract admits in [min, max] (or [min, max)), and above all the ones a `real`
 * column trips on: too small for a float4, -0, and just under a bound a float4 rounds onto.
 */
export function contractDouble(min: number, max: number, maxExcluded = false): fc.Arbitrary<number> {
  const top = maxExcluded ? max - Math.max(Math.abs(max), 1) * Number.EPSILON : max;
  return fc
    .oneof(
      fc.double({ min, max, maxExcluded, noNaN: true }),
      fc.constantFrom(min, top, -0, 5e-324, 1e-40, -1e-40, 1.4e-45, 1e-50, -1e-50, max - 1e-5, max - 1e-12),
    )
    .filter((x) => x >= min && (maxExcluded ? x < max : x <= max));
}

const optionalField = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** A native fix (without `t`) with every field over the contract's whole range and its float4 edges. */
export const contractFix = fc.record(
  {
    lat: contractDouble(-90, 90),
    lon: contractDouble(-180, 180),
    accM: optionalField(contractDouble(0, 100_000)),
    speedMps: optionalField(contractDouble(0, 350)),
    headingDeg: optionalField(contractDouble(0, 360, true)),
    altM: optionalField(contractDouble(-1_000, 20_000)),
    source: optionalField(fc.constantFrom("gps", "wifi", "cell", "other")),
    batteryPct: optionalField(contractDouble(0, 100)),
  },
  { requiredKeys: ["lat", "lon"] },
);
