import { describe, expect, it } from "vitest";
import { deviceAcl, downlinkTopic, ingestSubscription, parseDeviceTopic, uplinkTopic } from "./topics";

describe("topics", () => {
  it("round-trips every uplink and downlink topic", () => {
    for (const kind of ["position", "status", "alarm"] as const) {
      expect(parseDeviceTopic(uplinkTopic("SN-1", kind))).toEqual({
        ok: true,
        serial: "SN-1",
        direction: "up",
        kind,
      });
    }
    for (const kind of ["config", "ack", "command"] as const) {
      expect(parseDeviceTopic(downlinkTopic("SN-1", kind))).toEqual({
        ok: true,
        serial: "SN-1",
        direction: "down",
        kind,
      });
    }
  });

  it.each([
    "vakt/v1/d/SN-1/up/selfie",
    "vakt/v1/d/SN-1/up",
    "vakt/v1/d/SN-1/up/position/extra",
    "vakt/v2/d/SN-1/up/position",
    "vakt/v1/d/+/up/position",
    "vakt/v1/d/../up/position",
    "owntracks/anna/phone",
    "",
  ])("refuses %j", (topic) => {
    expect(parseDeviceTopic(topic)).toEqual({ ok: false, reason: "unknown_topic" });
  });

  it("gives each device only its own topics", () => {
    expect(deviceAcl("SN-1")).toEqual({ publish: "vakt/v1/d/SN-1/up/#", subscribe: "vakt/v1/d/SN-1/down/#" });
    // Everything a device may publish, so a topic outside the contract becomes a dead letter.
    expect(ingestSubscription()).toBe("$share/vakt-ingest/vakt/v1/d/+/up/#");
  });
});
