import { uplinkTopic } from "@vakt/schemas";
import { describe, expect, it } from "vitest";
import { DEAD_LETTER_EXCERPT_BYTES, type Decision, type DeviceRef, decide, rowsOf } from "./decide";

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const device: DeviceRef = {
  id: "7a0c1c9e-0000-4000-8000-000000000001",
  serial: "SN-1",
  organisationId: "7a0c1c9e-0000-4000-8000-0000000000aa",
  departmentId: "7a0c1c9e-0000-4000-8000-0000000000bb",
  recipientId: "7a0c1c9e-0000-4000-8000-0000000000cc",
};
const lookup = (serial: string) => (serial === device.serial ? device : undefined);
const opts = { maxPayloadBytes: 4_096 };

function run(topic: string, payload: unknown, now = NOW): Decision {
  const bytes = Buffer.from(typeof payload === "string" ? payload : JSON.stringify(payload));
  return decide(topic, bytes, now, lookup, opts);
}

function deadReason(d: Decision): string | undefined {
  return d.kind === "dead_letter" ? d.row.reason : undefined;
}

const fix = { t: NOW - 60_000, lat: 59.91, lon: 10.75, accM: 8, batteryPct: 77 };

describe("decide: valid uplinks", () => {
  it("reads a status with online false (the contract's last will) as the device gone away", () => {
    const d = run(uplinkTopic("SN-1", "status"), { v: 1, id: "will-1", t: NOW - 3_600_000, online: false });
    expect(d).toMatchObject({
      kind: "store",
      status: null,
      positions: [],
      seen: { at: 0, online: false, batteryPct: null },
      raw: { messageId: "will-1", kind: "status" },
    });
    // Only false: a device cannot say it is online in a will, nor anything else there.
    expect(deadReason(run(uplinkTopic("SN-1", "status"), { v: 1, id: "w2", t: NOW, online: true }))).toBe(
      "invalid_message",
    );
  });

  it("turns one fix into one position row carrying the device's organisation and recipient", () => {
    const d = run(uplinkTopic("SN-1", "position"), { v: 1, id: "m1", fix });
    expect(d.kind).toBe("store");
    if (d.kind !== "store") return;
    expect(d.positions).toEqual([
      expect.objectContaining({
        time: fix.t,
        deviceId: device.id,
        organisationId: device.organisationId,
        recipientId: device.recipientId,
        messageId: "m1",
        lat: 59.91,
        lon: 10.75,
        accuracyM: 8,
        source: "gps",
        batteryPct: 77,
      }),
    ]);
    expect(d.raw).toMatchObject({ messageId: "m1", kind: "position", time: fix.t });
    expect(d.seen).toMatchObject({ at: NOW, online: true, batteryPct: 77 });
    expect(rowsOf(d)).toBe(2);
  });

  it("turns a batch into one row per fix and logs the message once, at its latest fix", () => {
    const fixes = [0, 1, 2].map((i) => ({ ...fix, t: fix.t + i * 1_000, batteryPct: 70 + i }));
    const d = run(uplinkTopic("SN-1", "position"), { v: 1, id: "b1", fixes });
    if (d.kind !== "store") throw new Error("expected store");
    expect(d.positions.map((p) => p.time)).toEqual(fixes.map((f) => f.t));
    expect(d.raw.time).toBe(fix.t + 2_000);
    expect(d.seen.batteryPct).toBe(72);
  });

  it("keeps status and reported configuration", () => {
    const settings = {
      reportIntervalS: 60,
      heartbeatIntervalS: 600,
      trackingEnabled: true,
      fallDetection: "high",
      lowBatteryPct: 15,
    };
    const d = run(uplinkTopic("SN-1", "status"), {
      v: 1,
      id: "s1",
      t: NOW,
      batteryPct: 40,
      charging: true,
      reportedConfig: { version: 3, settings },
    });
    if (d.kind !== "store") throw new Error("expected store");
    expect(d.status).toMatchObject({ batteryPct: 40, charging: true, reportedConfig: { version: 3 } });
    expect(d.seen).toMatchObject({
      batteryPct: 40,
      charging: true,
      reportedConfig: { version: 3, settings },
    });
  });

  it("makes an alarm with its severity and the fix as a position", () => {
    const d = run(uplinkTopic("SN-1", "alarm"), { v: 1, id: "a1", t: NOW - 1_000, type: "sos", fix });
    if (d.kind !== "store") throw new Error("expected store");
    expect(d.alarm).toMatchObject({
      messageId: "a1",
      type: "sos",
      severity: "critical",
      raisedAt: NOW - 1_000,
    });
    expect(d.positions).toHaveLength(1);
  });
});

describe("decide: bad input becomes a dead letter with a reason", () => {
  const topic = uplinkTopic("SN-1", "position");
  it.each([
    ["invalid JSON", topic, "{not json", "invalid_json"],
    ["wrong types", topic, { v: 1, id: "x", fix: { ...fix, lat: "59.9" } }, "invalid_message"],
    ["latitude 200", topic, { v: 1, id: "x", fix: { ...fix, lat: 200 } }, "invalid_message"],
    ["battery 300 %", topic, { v: 1, id: "x", fix: { ...fix, batteryPct: 300 } }, "invalid_message"],
    ["no message id", topic, { v: 1, fix }, "invalid_message"],
    ["unknown field", topic, { v: 1, id: "x", fix, extra: true }, "invalid_message"],
    [
      "time before 2000",
      topic,
      { v: 1, id: "x", fix: { ...fix, t: Date.UTC(1999, 0, 1) } },
      "timestamp_before_2000",
    ],
    [
      "time before 2000 in a batch",
      topic,
      { v: 1, id: "x", fixes: [{ ...fix, t: 5 }] },
      "timestamp_before_2000",
    ],
    [
      "time a day ahead",
      topic,
      { v: 1, id: "x", fix: { ...fix, t: NOW + 86_400_000 } },
      "timestamp_in_future",
    ],
    [
      "time in 2200",
      topic,
      { v: 1, id: "x", fix: { ...fix, t: Date.UTC(2200, 0, 1) } },
      "timestamp_in_future",
    ],
    ["unknown device", uplinkTopic("SN-404", "position"), { v: 1, id: "x", fix }, "unknown_device"],
    ["unknown topic", "vakt/v1/d/SN-1/up/selfie", { v: 1, id: "x", fix }, "unknown_topic"],
    ["downlink topic", "vakt/v1/d/SN-1/down/config", { v: 1 }, "unknown_topic"],
    ["foreign topic", "something/else", "{}", "unknown_topic"],
    [
      "status battery 300 %",
      uplinkTopic("SN-1", "status"),
      { v: 1, id: "s", t: NOW, batteryPct: 300 },
      "invalid_message",
    ],
    [
      "alarm of unknown type",
      uplinkTopic("SN-1", "alarm"),
      { v: 1, id: "a", t: NOW, type: "fire" },
      "invalid_message",
    ],
  ])("%s", (_name, t, payload, reason) => {
    const d = run(t, payload);
    expect(deadReason(d)).toBe(reason);
  });

  it("refuses an oversized payload without parsing it, and keeps a bounded excerpt", () => {
    const big = JSON.stringify({ v: 1, id: "x", fix, pad: "x".repeat(10_000) });
    const d = run(topic, big);
    expect(deadReason(d)).toBe("payload_too_large");
    if (d.kind !== "dead_letter") return;
    expect(d.row.payloadBytes).toBe(Buffer.byteLength(big));
    expect(d.row.payloadExcerpt.length).toBe(DEAD_LETTER_EXCERPT_BYTES);
    expect(d.row.deviceId).toBe(device.id);
  });

  it("records the device when known and nothing when not", () => {
    const known = run(topic, "{");
    const unknown = run(uplinkTopic("SN-404", "position"), "{");
    if (known.kind !== "dead_letter" || unknown.kind !== "dead_letter")
      throw new Error("expected dead letters");
    expect(known.row).toMatchObject({ deviceId: device.id, organisationId: device.organisationId });
    expect(unknown.row).toMatchObject({ deviceId: null, organisationId: null });
  });

  it("keeps an excerpt PostgreSQL can store (no NUL characters)", () => {
    const d = decide(topic, Buffer.from([0x7b, 0x00, 0xff, 0x7d]), NOW, lookup, opts);
    if (d.kind !== "dead_letter") throw new Error("expected dead letter");
    expect(d.row.reason).toBe("invalid_json");
    expect(d.row.payloadExcerpt).not.toContain("\u0000");
  });
});
