import { type AlertEndpoint, alertEndpointCreate } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import "../i18n/dict-admin";
import { dictionaries } from "../i18n/dict";
import {
  CHANNEL_KINDS,
  type ChannelFormInput,
  channelFieldError,
  channelForm,
  channelToForm,
  channelUpdate,
} from "./channel-form";
import { RUN_CATEGORIES, runRemovals } from "./RetentionRuns";

const targets = fc.oneof(
  fc.constantFrom(
    "https://hooks.example.no/vakt",
    "http://127.0.0.1:9/x",
    "ftp://example.no",
    "vakt@kommune.no",
    "not an address",
    "+4712345678",
    "12345678",
    " +4798765432 ",
    "",
  ),
  fc.string({ maxLength: 30 }),
);
const inputs: fc.Arbitrary<ChannelFormInput> = fc.record({
  name: fc.oneof(fc.string({ maxLength: 210 }), fc.constantFrom("", "  ", "Vaktrom")),
  kind: fc.constantFrom(...CHANNEL_KINDS),
  target: targets,
  departmentId: fc.oneof(fc.uuid({ version: 4 }), fc.constant("")),
  enabled: fc.boolean(),
});

describe("the channel form", () => {
  it("accepts exactly what the API's create schema accepts, and words every refusal by the kind", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const r = channelForm.safeParse(input);
        const api = alertEndpointCreate.safeParse({ ...input, target: input.target.trim() });
        expect(r.success).toBe(api.success);
        if (r.success) return;
        for (const issue of r.error.issues) {
          const field = String(issue.path[0]) as keyof ChannelFormInput;
          expect(Object.keys(input)).toContain(field);
          expect(channelFieldError(field, input.kind) in dictionaries.en).toBe(true);
        }
      }),
    );
  });

  it("fills the form from a stored channel, and a change sends only what may change", () => {
    const stored: AlertEndpoint = {
      id: "0b7c5a44-7f0e-4d7b-9d7e-2f9d6f1c8a11",
      departmentId: "5f0e7a52-3c1d-4a8e-9b61-0d2f4c6e8a10",
      name: "Vaktrom",
      kind: "sms",
      target: "+4712345678",
      enabled: false,
      signed: false,
    };
    const body = channelForm.parse({ ...channelToForm(stored), target: " +4798765432 " });
    expect(channelUpdate(body)).toEqual({ name: "Vaktrom", target: "+4798765432", enabled: false });
    expect(channelForm.safeParse({ ...channelToForm(stored), target: "98765432" }).success).toBe(false);
  });
});

describe("what a retention run removed", () => {
  it("lists each known category with rows in order, none of zero, and the unknown ones together", () => {
    const counts = fc.dictionary(
      fc.oneof(fc.constantFrom(...RUN_CATEGORIES), fc.constantFrom("futureThing", "other")),
      fc.nat({ max: 10_000 }),
    );
    fc.assert(
      fc.property(counts, (c) => {
        const out = runRemovals({ counts: c });
        for (const r of out) {
          expect(r.count).toBeGreaterThan(0);
          expect(r.key in dictionaries.en).toBe(true);
        }
        const total = Object.values(c).reduce((a, b) => a + b, 0);
        expect(out.reduce((a, r) => a + r.count, 0)).toBe(total);
        const known = out.filter((r) => r.key !== "retention.removed.other").map((r) => r.key);
        expect(known).toEqual(
          RUN_CATEGORIES.filter((k) => (c[k] ?? 0) > 0).map((k) => `retention.removed.${k}`),
        );
      }),
    );
  });
});
