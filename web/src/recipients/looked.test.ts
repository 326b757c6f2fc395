import type { ActivityEntry } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries, interpolate, type MessageKey } from "../i18n/dict";
import { describeEntry } from "./looked";

const staff = new Map([["10000000-0000-4000-8000-000000000001", "Oda Operatør"]]);
function entry(over: Partial<ActivityEntry>): ActivityEntry {
  return {
    seq: 1,
    id: "00000000-0000-4000-8000-000000000001",
    at: "2026-12-02T02:00:00.000Z",
    actorType: "user",
    actorId: "10000000-0000-4000-8000-000000000001",
    sessionId: null,
    action: "position.current_viewed",
    subjectType: "recipient",
    subjectId: null,
    recipientIds: ["20000000-0000-4000-8000-000000000001"],
    reason: null,
    details: {},
    ip: null,
    ...over,
  };
}

for (const lang of ["en", "nb"] as const) {
  const t = (key: MessageKey, vars?: Record<string, string | number>) =>
    interpolate(dictionaries[lang][key] ?? key, vars);
  describe(`who has looked, in ${lang}`, () => {
    it("names the person and what they saw, with how long a live watch lasted", () => {
      const s = describeEntry(
        entry({ action: "position.live_watch_ended", details: { seconds: 240 } }),
        "Kari Berg",
        staff,
        t,
      );
      expect(s).toContain("Oda Operatør");
      expect(s).toContain("Kari Berg");
      expect(s).toContain(lang === "en" ? "4 minutes" : "4 minutter");
    });

    it("says in words that someone saw the call list or phoned from it", () => {
      const seen = describeEntry(entry({ action: "contacts.viewed" }), "Kari Berg", staff, t);
      expect(seen).toBe(
        lang === "en"
          ? "Oda Operatør saw Kari Berg's call list (next of kin and others to phone)."
          : "Oda Operatør så ringelisten til Kari Berg (pårørende og andre å ringe).",
      );
      const called = describeEntry(entry({ action: "alarm.called" }), "Kari Berg", staff, t);
      expect(called).toContain(lang === "en" ? "phoned someone on" : "ringte noen på");
    });

    it("turns any action, known or not, into a sentence without the code and without a placeholder", () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.constantFrom(
              "position.current_viewed",
              "position.history_viewed",
              "position.live_watch_started",
              "device.locate_requested",
              "recipient.exported",
              "alarm.opened",
              "geofence.updated",
              // Names Object already has: never a sentence or an area of their own.
              "__proto__.aaa",
              "constructor",
              "toString.viewed",
              "hasOwnProperty.x",
            ),
            fc.stringMatching(/^[a-z_]{3,12}\.[a-z_]{3,16}$/),
          ),
          fc.constantFrom<ActivityEntry["actorType"]>("user", "api_token", "system", "anonymous"),
          fc.option(fc.uuid()),
          (action, actorType, actorId) => {
            const s = describeEntry(entry({ action, actorType, actorId }), "Kari Berg", staff, t);
            expect(s).not.toContain(action);
            expect(s).not.toMatch(/\{\w+\}/);
            expect(s.length).toBeGreaterThan(10);
          },
        ),
      );
    });
  });
}
