import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { owntracksLocation, owntracksSubtopics, owntracksTransition, parseOwntracksTopic } from "./owntracks";

describe("OwnTracks topics", () => {
  it("takes the base topic and every subtopic the apps publish, nothing else", () => {
    expect(parseOwntracksTopic("owntracks/anna/SN-1")).toEqual({ user: "anna", device: "SN-1" });
    for (const sub of owntracksSubtopics)
      expect(parseOwntracksTopic(`owntracks/anna/SN-1/${sub}`)).toEqual({
        user: "anna",
        device: "SN-1",
        sub,
      });
    for (const bad of [
      "owntracks/anna",
      "owntracks//SN-1",
      "owntracks/anna/",
      "owntracks/anna/SN-1/other",
      "owntracks/anna/SN-1/event/x",
      "owntracks/+/SN-1",
      "owntracks/anna/#",
      "vakt/anna/SN-1",
    ])
      expect(parseOwntracksTopic(bad), bad).toBeUndefined();
  });
  it("never yields a wildcard or an empty segment (generated)", () => {
    const segment = fc.stringMatching(/^[a-z+#]{0,3}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (parts) => {
        const t = parseOwntracksTopic(["owntracks", ...parts].join("/"));
        return t === undefined || (!/[+#]/.test(t.user + t.device) && t.user !== "" && t.device !== "");
      }),
    );
  });
});

describe("OwnTracks -1 values", () => {
  const base = { _type: "location", tst: 1_800_000_000, lat: 59.9, lon: 10.7 };
  it("reads -1 in vel, cog, acc and alt as unknown", () => {
    const r = owntracksLocation.parse({ ...base, vel: -1, cog: -1, acc: -1, alt: -1 });
    expect([r.vel, r.cog, r.acc, r.alt]).toEqual([undefined, undefined, undefined, undefined]);
    expect(
      owntracksTransition.parse({ ...base, _type: "transition", event: "leave", acc: -1 }).acc,
    ).toBeUndefined();
  });
  it("keeps real values, and refuses other negative speeds, courses and accuracies", () => {
    expect(owntracksLocation.parse({ ...base, vel: 0, cog: 0, acc: 0, alt: -2 })).toMatchObject({
      vel: 0,
      cog: 0,
      acc: 0,
      alt: -2,
    });
    for (const field of ["vel", "cog", "acc"])
      expect(owntracksLocation.safeParse({ ...base, [field]: -2 }).success, field).toBe(false);
  });
});
