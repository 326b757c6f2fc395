/**
 * The embedded broker's topic rules, attacked with generated topics: a device
 * may publish only under its own serial (its uplink, its OwnTracks topic and
 * the subtopics the apps publish) and subscribe only to its own downlink and
 * its own OwnTracks /cmd, never to anything naming or matching another device.
 */
import { owntracksSubtopics } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { owntracksRoute } from "../trackers/owntracks";
import { devicePublishAllowed, deviceSubscribeAllowed } from "./embedded";

const serial = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const segment = fc.oneof(
  serial,
  fc.constantFrom("+", "#", "", "owntracks", "vakt", "cmd", "event", "up", "down", "v1", "d"),
);
const topic = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join("/"));

/** Would an MQTT filter match a topic (the broker's rule)? */
function matches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

describe("embedded broker topic rules", () => {
  it("allows the OwnTracks topics the apps publish, under the device's own serial only", () => {
    expect(devicePublishAllowed("SN-1", "owntracks/anna/SN-1")).toBe(true);
    for (const sub of owntracksSubtopics) {
      expect(devicePublishAllowed("SN-1", `owntracks/anna/SN-1/${sub}`), sub).toBe(true);
      expect(devicePublishAllowed("SN-1", `owntracks/anna/SN-2/${sub}`), sub).toBe(false);
    }
    expect(devicePublishAllowed("SN-1", "owntracks/anna/SN-1/other")).toBe(false);
    expect(devicePublishAllowed("SN-1", "owntracks/anna/SN-1/event/x")).toBe(false);
    expect(deviceSubscribeAllowed("SN-1", "owntracks/anna/SN-1/cmd")).toBe(true);
    expect(deviceSubscribeAllowed("SN-1", "owntracks/+/SN-1/cmd")).toBe(true);
    for (const f of [
      "owntracks/+/+/cmd",
      "owntracks/#",
      "owntracks/+/SN-2/cmd",
      "owntracks/anna/SN-1/#",
      "#",
    ])
      expect(deviceSubscribeAllowed("SN-1", f), f).toBe(false);
  });

  it("never lets a device publish where another device's messages go (generated)", () => {
    fc.assert(
      fc.property(serial, serial, topic, (mine, theirs, t) => {
        fc.pre(mine !== theirs);
        if (!devicePublishAllowed(mine, t)) return true;
        const owntracks = t.split("/");
        return (
          !t.includes("+") &&
          !t.includes("#") &&
          (t.startsWith(`vakt/v1/d/${mine}/up/`) || (owntracks[0] === "owntracks" && owntracks[2] === mine))
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it("never lets a device subscribe to a filter that matches another device's topics (generated)", () => {
    fc.assert(
      fc.property(
        serial,
        serial,
        topic,
        fc.constantFrom("down/command", "down/ack", "cmd", "event", ""),
        (mine, theirs, f, sub) => {
          fc.pre(mine !== theirs);
          if (!deviceSubscribeAllowed(mine, f)) return true;
          const theirTopics = [
            `vakt/v1/d/${theirs}/${sub}`,
            `owntracks/anna/${theirs}/${sub}`,
            `owntracks/anna/${theirs}`,
          ];
          return theirTopics.every((t) => !matches(f, t));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("routes only valid serials to a look-up (generated)", () => {
    fc.assert(
      fc.property(topic, (t) => {
        const r = owntracksRoute(`owntracks/${t}`);
        return r.kind === "ignore" || r.serial === undefined || /^[A-Za-z0-9_-]{1,64}$/.test(r.serial);
      }),
      { numRuns: 2_000 },
    );
  });
});
