import {
  alarmMessage,
  type ConfigMessage,
  defaultDeviceSettings,
  MAX_FUTURE_SKEW_MS,
  positionMessage,
  statusMessage,
} from "@vakt/schemas";
import { describe, expect, it } from "vitest";
import { type Output, SimulatedDevice, type Uplink } from "./device";
import { mergeOptions, quietOptions, simOptions } from "./options";
import { seededRandom } from "./random";

const T0 = Date.UTC(2025, 2, 1, 9);
const spec = { serial: "SN-1", secret: "s3cret", home: { lat: 59.9139, lon: 10.7522 } };

function device(options: Record<string, unknown> = {}, seed = 1) {
  return new SimulatedDevice(
    spec,
    simOptions.parse(mergeOptions(quietOptions, options)),
    seededRandom(seed),
    T0,
  );
}

const json = (u: Uplink | undefined) => JSON.parse(u?.payload ?? "null");
const ofKind = (out: Output, kind: Uplink["kind"]) => out.uplinks.filter((u) => u.kind === kind);

/** Ticks once a second from `from` to `to`, collecting everything. */
function run(d: SimulatedDevice, from: number, to: number, stepMs = 1000): Output {
  const all: Output = { uplinks: [], notes: [] };
  for (let t = from + stepMs; t <= to; t += stepMs) {
    const out = d.tick(t);
    all.uplinks.push(...out.uplinks);
    all.notes.push(...out.notes);
  }
  return all;
}

const config = (version: number, settings = {}): ConfigMessage => ({
  v: 1,
  version,
  settings: { ...defaultDeviceSettings, ...settings },
});

describe("device: uplinks follow the contract", () => {
  it("boots with a valid status and position", () => {
    const out = device().boot(T0);
    const [status] = ofKind(out, "status");
    const [position] = ofKind(out, "position");
    expect(statusMessage.parse(json(status)).firmware).toBe("vakt-sim/0.1.0");
    expect(positionMessage.parse(json(position))).toHaveProperty("fix");
  });

  it("sends a status and a position each heartbeat when not tracking, valid throughout", () => {
    const d = device({ heartbeatIntervalS: 60 });
    d.boot(T0);
    const out = run(d, T0, T0 + 10 * 60_000);
    const statuses = ofKind(out, "status");
    expect(statuses.length).toBeGreaterThanOrEqual(9);
    expect(statuses.length).toBeLessThanOrEqual(10);
    expect(ofKind(out, "position")).toHaveLength(statuses.length);
    for (const u of statuses) statusMessage.parse(json(u));
    for (const u of ofKind(out, "position")) positionMessage.parse(json(u));
    const ids = out.uplinks.map((u) => u.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("reports positions every reportIntervalS while tracking", () => {
    const d = device({ tracking: true, reportIntervalS: 10, heartbeatIntervalS: 3600 });
    d.boot(T0);
    const out = run(d, T0, T0 + 100_000);
    expect(ofKind(out, "position").length).toBeGreaterThanOrEqual(9);
    expect(ofKind(out, "status")).toHaveLength(0);
  });

  it("raises SOS as a valid alarm with a fix", () => {
    const d = device();
    d.boot(T0);
    const [alarm] = d.apply({ event: "sos" }, T0 + 5000).uplinks;
    const parsed = alarmMessage.parse(json(alarm));
    expect(parsed.type).toBe("sos");
    expect(parsed.fix).toBeDefined();
    expect(d.unackedAlarms()).toEqual([parsed.id]);
  });

  it("cancels a fall after the window with an alarm naming the fall", () => {
    const d = device();
    d.boot(T0);
    const [fall] = d.apply({ event: "fall", cancelAfterMs: 20_000 }, T0 + 1000).uplinks;
    const fallId = alarmMessage.parse(json(fall)).id;
    expect(ofKind(run(d, T0 + 1000, T0 + 20_000), "alarm")).toHaveLength(0);
    const [cancel] = ofKind(run(d, T0 + 20_000, T0 + 22_000), "alarm");
    const parsed = alarmMessage.parse(json(cancel));
    expect(parsed).toMatchObject({ type: "fall", cancels: fallId });
    expect(parsed.id).not.toBe(fallId);
  });

  it("writes its own clock, skewed, into t", () => {
    const d = device();
    d.boot(T0);
    d.apply({ event: "skew", ms: MAX_FUTURE_SKEW_MS + 60_000 }, T0);
    const [p] = d.apply({ event: "position" }, T0 + 1000).uplinks;
    expect(positionMessage.parse(json(p))).toMatchObject({
      fix: { t: T0 + 1000 + MAX_FUTURE_SKEW_MS + 60_000 },
    });
  });

  it("redelivers the last message with the same id and bytes", () => {
    const d = device();
    d.boot(T0);
    const [sos] = d.apply({ event: "sos" }, T0 + 1000).uplinks;
    const [again] = d.apply({ event: "redeliver" }, T0 + 2000).uplinks;
    expect(again).toMatchObject({ id: sos?.id, payload: sos?.payload, redelivery: true });
  });

  it("adds redeliveries and malformed companions at the configured rates", () => {
    const d = device({ heartbeatIntervalS: 60, redeliveryRate: 1, malformedRate: 1 });
    d.boot(T0);
    const out = run(d, T0, T0 + 120_000);
    const valid = out.uplinks.filter((u) => !u.redelivery && !u.malformed);
    expect(out.uplinks.filter((u) => u.redelivery)).toHaveLength(valid.length);
    expect(out.uplinks.filter((u) => u.malformed)).toHaveLength(valid.length);
  });

  it("reports battery level and goes off with a power_off alarm when flat", () => {
    const d = device({ heartbeatIntervalS: 60, battery: { idleDrainPctPerHour: 3600, plugInPerHour: 0 } });
    d.boot(T0);
    d.apply({ event: "battery", pct: 1 }, T0);
    const out = run(d, T0, T0 + 5000);
    expect(out.notes).toContainEqual({ type: "power_off" });
    const alarms = ofKind(out, "alarm").map((u) => alarmMessage.parse(json(u)));
    expect(alarms.map((a) => a.type)).toEqual(["power_off"]);
    expect(d.isOff()).toBe(true);
    expect(run(d, T0 + 5000, T0 + 600_000).uplinks).toHaveLength(0);
  });
});

describe("device: silence", () => {
  it("publishes nothing while silent, then the held alarm and a status", () => {
    const d = device({ heartbeatIntervalS: 60 });
    d.boot(T0);
    d.apply({ event: "silence", forMs: 300_000 }, T0 + 1000);
    const sos = d.apply({ event: "sos" }, T0 + 2000);
    expect(sos.uplinks).toHaveLength(0);
    expect(run(d, T0 + 2000, T0 + 300_000).uplinks).toHaveLength(0);
    const after = run(d, T0 + 300_000, T0 + 302_000);
    expect(ofKind(after, "alarm").map((u) => alarmMessage.parse(json(u)).type)).toEqual(["sos"]);
    expect(ofKind(after, "status")).toHaveLength(1);
  });

  it("buffers tracked positions while silent and sends them as one batch", () => {
    const d = device({ tracking: true, reportIntervalS: 10, heartbeatIntervalS: 3600 });
    d.boot(T0);
    d.apply({ event: "silence", forMs: 60_000 }, T0);
    const out = run(d, T0, T0 + 62_000);
    const batches = ofKind(out, "position")
      .map((u) => positionMessage.parse(json(u)))
      .filter((m) => "fixes" in m);
    expect(batches).toHaveLength(1);
    const first = batches[0];
    expect(first && "fixes" in first ? first.fixes.length : 0).toBeGreaterThanOrEqual(5);
  });
});

describe("device: downlink", () => {
  it("applies a configuration and echoes its version in the next status, once per version", () => {
    const d = device();
    d.boot(T0);
    const out = d.handleDownlink("config", JSON.stringify(config(7, { heartbeatIntervalS: 300 })), T0 + 1000);
    expect(out.notes).toContainEqual({ type: "config_applied", version: 7 });
    const status = statusMessage.parse(json(ofKind(out, "status")[0]));
    expect(status.reportedConfig).toEqual({
      version: 7,
      settings: config(7, { heartbeatIntervalS: 300 }).settings,
    });
    expect(d.handleDownlink("config", JSON.stringify(config(7)), T0 + 2000).uplinks).toHaveLength(0);
    expect(d.settings.heartbeatIntervalS).toBe(300);
  });

  it("turns tracking on from configuration", () => {
    const d = device({ heartbeatIntervalS: 3600 });
    d.boot(T0);
    d.handleDownlink("config", JSON.stringify(config(2, { trackingEnabled: true, reportIntervalS: 10 })), T0);
    expect(ofKind(run(d, T0, T0 + 60_000), "position").length).toBeGreaterThanOrEqual(5);
  });

  it("counts acks of its alarms with their latency, and notices unknown ones", () => {
    const d = device();
    d.boot(T0);
    const id = alarmMessage.parse(json(d.apply({ event: "sos" }, T0 + 1000).uplinks[0])).id;
    const ack = (ackOf: string, status = "received") =>
      JSON.stringify({ v: 1, ackOf, status, alarmId: "0b7e2b1c-6a43-4f5b-9d7e-2f1c3a4b5c6d", at: T0 + 3000 });
    expect(d.handleDownlink("ack", ack(id), T0 + 3500).notes).toEqual([
      { type: "ack", ackOf: id, status: "received", first: true, latencyMs: 2500 },
    ]);
    expect(d.handleDownlink("ack", ack(id, "taken"), T0 + 9000).notes[0]).toMatchObject({ first: false });
    expect(d.unackedAlarms()).toEqual([]);
    expect(d.handleDownlink("ack", ack("nope"), T0).notes).toEqual([{ type: "ack_unknown", ackOf: "nope" }]);
  });

  it("answers locate with a position, and starts and stops tracking", () => {
    const d = device({ heartbeatIntervalS: 3600, reportIntervalS: 10 });
    d.boot(T0);
    const locate = d.handleDownlink(
      "command",
      JSON.stringify({ v: 1, id: "c1", command: "locate" }),
      T0 + 1000,
    );
    expect(ofKind(locate, "position")).toHaveLength(1);
    positionMessage.parse(json(locate.uplinks[0]));
    expect(
      d.handleDownlink("command", JSON.stringify({ v: 1, id: "c1", command: "locate" }), T0).notes,
    ).toEqual([{ type: "duplicate_command", id: "c1" }]);

    const track = { v: 1, id: "c2", command: "track", untilMs: T0 + 3_600_000 };
    d.handleDownlink("command", JSON.stringify(track), T0 + 1000);
    expect(d.isTracking(T0 + 2000)).toBe(true);
    expect(ofKind(run(d, T0 + 1000, T0 + 61_000), "position").length).toBeGreaterThanOrEqual(5);
    d.handleDownlink("command", JSON.stringify({ v: 1, id: "c3", command: "stop_tracking" }), T0 + 61_000);
    expect(d.isTracking(T0 + 62_000)).toBe(false);
    expect(ofKind(run(d, T0 + 61_000, T0 + 121_000), "position")).toHaveLength(0);
  });

  it("stops tracking by itself at untilMs", () => {
    const d = device();
    d.handleDownlink(
      "command",
      JSON.stringify({ v: 1, id: "c", command: "track", untilMs: T0 + 60_000 }),
      T0,
    );
    expect(d.isTracking(T0 + 59_999)).toBe(true);
    expect(d.isTracking(T0 + 60_000)).toBe(false);
  });

  it("rejects invalid downlink without acting on it", () => {
    const d = device();
    d.boot(T0);
    const bad = [
      d.handleDownlink("config", "{not json", T0),
      d.handleDownlink("config", JSON.stringify({ ...config(3), extra: 1 }), T0),
      d.handleDownlink("command", JSON.stringify({ v: 1, id: "x", command: "selfdestruct" }), T0),
    ];
    for (const out of bad) {
      expect(out.uplinks).toHaveLength(0);
      expect(out.notes[0]?.type).toBe("invalid_downlink");
    }
    expect(d.configVersion).toBeUndefined();
  });

  it("takes downlink held while silent once back", () => {
    const d = device();
    d.boot(T0);
    d.apply({ event: "silence", forMs: 60_000 }, T0);
    expect(d.handleDownlink("config", JSON.stringify(config(4)), T0 + 1000).notes).toHaveLength(0);
    const out = run(d, T0, T0 + 61_000);
    expect(out.notes).toContainEqual({ type: "config_applied", version: 4 });
  });
});

describe("device: schedule", () => {
  it("keeps a fixed reporting rhythm when ticks come a little late", () => {
    const d = device({ tracking: true, reportIntervalS: 10, heartbeatIntervalS: 3600 });
    d.boot(T0);
    // Ticks every 999 ms: a schedule restarted from each tick would slip to one report per 10.989 s.
    const out = run(d, T0, T0 + 999_000, 999);
    const n = ofKind(out, "position").length;
    expect(n).toBeGreaterThanOrEqual(99);
    expect(n).toBeLessThanOrEqual(101);
  });
});
