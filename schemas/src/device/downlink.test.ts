import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseOwntracksTopic } from "../trackers/owntracks";
import { type Downlink, deviceCommandPublisher, downlinks } from "./downlink";
import { ackMessage, commandMessage, configMessage, deviceSettings } from "./messages";
import { deviceAcl, parseDeviceTopic } from "./topics";

const serial = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const id = fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/);
const at = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 0, 1) });
const settings = fc.record(
  {
    reportIntervalS: fc.integer({ min: 10, max: 86_400 }),
    heartbeatIntervalS: fc.integer({ min: 60, max: 86_400 }),
    trackingEnabled: fc.boolean(),
    fallDetection: fc.constantFrom("off", "low", "medium", "high"),
    lowBatteryPct: fc.integer({ min: 0, max: 100 }),
    alarmNumber: fc.stringMatching(/^\+[1-9][0-9]{6,14}$/),
  },
  {
    requiredKeys: [
      "reportIntervalS",
      "heartbeatIntervalS",
      "trackingEnabled",
      "fallDetection",
      "lowBatteryPct",
    ],
  },
);
const command = fc.oneof(
  fc.record({ v: fc.constant(1 as const), id, command: fc.constant("locate" as const) }),
  fc.record({ v: fc.constant(1 as const), id, command: fc.constant("track" as const), untilMs: at }),
  fc.record({ v: fc.constant(1 as const), id, command: fc.constant("stop_tracking" as const) }),
);
const ack = fc.record({
  v: fc.constant(1 as const),
  ackOf: id,
  status: fc.constantFrom("received", "taken", "resolved", "cancelled"),
  alarmId: fc.uuid(),
  at,
});

/** A device subscribed with its ACL's filter receives the topic (MQTT `#` matching). */
const reaches = (d: Downlink, s: string) => d.topic.startsWith(deviceAcl(s).subscribe.slice(0, -1));

describe("downlink contract", () => {
  it("configuration: the device's retained config topic, a payload the device's schema accepts (property)", () => {
    fc.assert(
      fc.property(serial, fc.integer({ min: 1, max: 2 ** 31 - 1 }), settings, (s, version, st) => {
        const d = downlinks.config(s, version, deviceSettings.parse(st));
        expect(parseDeviceTopic(d.topic)).toEqual({ ok: true, serial: s, direction: "down", kind: "config" });
        expect(reaches(d, s)).toBe(true);
        expect([d.qos, d.retain]).toEqual([1, true]);
        expect(configMessage.parse(JSON.parse(d.payload))).toEqual({ v: 1, version, settings: st });
      }),
    );
  });

  it("commands and acks: QoS 1, never retained, payload round-trips (property)", () => {
    fc.assert(
      fc.property(serial, command, ack, (s, c, a) => {
        const dc = downlinks.command(s, c);
        const da = downlinks.ack(s, a);
        expect(parseDeviceTopic(dc.topic)).toMatchObject({ ok: true, serial: s, kind: "command" });
        expect(parseDeviceTopic(da.topic)).toMatchObject({ ok: true, serial: s, kind: "ack" });
        for (const d of [dc, da]) expect([d.qos, d.retain, reaches(d, s)]).toEqual([1, false, true]);
        expect(commandMessage.parse(JSON.parse(dc.payload))).toEqual(c);
        expect(ackMessage.parse(JSON.parse(da.payload))).toEqual(a);
      }),
    );
  });

  it("refuses a message outside the contract instead of sending it (property)", () => {
    fc.assert(
      fc.property(serial, fc.jsonValue(), fc.jsonValue(), (s, junk, junk2) => {
        // Junk that happens to be valid is fine; anything else must throw before a topic is formed.
        if (!commandMessage.safeParse(junk).success)
          expect(() => downlinks.command(s, junk as never)).toThrow();
        if (!ackMessage.safeParse(junk2).success) expect(() => downlinks.ack(s, junk2 as never)).toThrow();
      }),
    );
    expect(() => downlinks.config("SN-1", 0, deviceSettings.parse({ ...validSettings }))).toThrow();
    expect(() => downlinks.config("SN-1", 1, { ...validSettings, reportIntervalS: 1 } as never)).toThrow();
    expect(() =>
      downlinks.owntracks({ user: "kari", device: "SN-1" }, { _type: "cmd", action: "dump" } as never),
    ).toThrow();
  });

  it("an OwnTracks command goes to the app's own /cmd topic", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{1,20}$/), serial, (user, device) => {
        const d = downlinks.owntracks({ user, device }, { _type: "cmd", action: "reportLocation" });
        expect(parseOwntracksTopic(d.topic)).toEqual({ user, device, sub: "cmd" });
        expect([d.qos, d.retain]).toEqual([1, false]);
        expect(JSON.parse(d.payload)).toEqual({ _type: "cmd", action: "reportLocation" });
      }),
    );
  });

  it("the publisher hands each method's downlink to the one send function", async () => {
    const sent: Downlink[] = [];
    const p = deviceCommandPublisher(async (d) => {
      sent.push(d);
    });
    await p.publishConfig("SN-1", 2, validSettings);
    await p.publishCommand("SN-1", { v: 1, id: "c1", command: "locate" });
    await p.publishAck("SN-1", {
      v: 1,
      ackOf: "a1",
      status: "taken",
      alarmId: crypto.randomUUID(),
      at: Date.now(),
    });
    await p.publishOwntracksCommand(
      { user: "kari", device: "SN-1" },
      { _type: "cmd", action: "reportLocation" },
    );
    expect(sent.map((d) => [d.topic, d.retain])).toEqual([
      ["vakt/v1/d/SN-1/down/config", true],
      ["vakt/v1/d/SN-1/down/command", false],
      ["vakt/v1/d/SN-1/down/ack", false],
      ["owntracks/kari/SN-1/cmd", false],
    ]);
  });
});

const validSettings = deviceSettings.parse({
  reportIntervalS: 60,
  heartbeatIntervalS: 600,
  trackingEnabled: true,
  fallDetection: "high",
  lowBatteryPct: 15,
});
