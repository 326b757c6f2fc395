import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DeviceRef } from "../pipeline/decide";
import { osmandDecision, readOsmandRequest } from "./osmand";

const device: DeviceRef = {
  id: "00000000-0000-4000-8000-000000000001",
  serial: "SN-1",
  organisationId: "00000000-0000-4000-8000-000000000002",
  departmentId: "00000000-0000-4000-8000-000000000003",
  recipientId: null,
};

describe("an OsmAnd request's timestamp", () => {
  it("is stored, or refused for its time with the time in the detail, whatever digits it holds", () => {
    const now = Date.now();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.stringMatching(/^\d{1,30}(\.\d{1,6})?$/),
          fc.constantFrom("99999999999999999", "8640000000001"),
        ),
        (timestamp) => {
          // The query form: the JSON body's ISO time always fits a Date.
          const request = readOsmandRequest(`id=x&lat=1&lon=1&timestamp=${timestamp}`, {
            type: "none",
            text: "",
          });
          // Before: a time past what a Date holds threw building the detail, and the request became
          // an ingest_error instead of the refusal it is.
          const d = osmandDecision(request, device.serial, now, () => device);
          if (d.kind === "store") return;
          expect(["timestamp_in_future", "timestamp_before_2000", "invalid_message"]).toContain(d.row.reason);
          if (d.row.reason !== "invalid_message") expect(d.row.detail).toMatch(/^timestamp: /);
        },
      ),
    );
  });
});
