import { geofenceCreate } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import { emptyGeofenceForm, type GeofenceFormInput, geofenceFieldError, geofenceForm } from "./geofence-form";
import type { GeofenceShape } from "./geofence-shape";

const circle: GeofenceShape = { kind: "circle", center: { lat: 59.91, lon: 10.75 }, radiusM: 120 };
const polygon: GeofenceShape = {
  kind: "polygon",
  points: [
    { lat: 59.9, lon: 10.7 },
    { lat: 59.91, lon: 10.71 },
    { lat: 59.9, lon: 10.72 },
  ],
};
const times = fc.constantFrom("", "07:30", "23:59", "24:00", "7:30", " 08:00 ", "nope");
const inputs: fc.Arbitrary<GeofenceFormInput> = fc.record({
  name: fc.oneof(fc.string({ maxLength: 110 }), fc.constantFrom("", "  ", "Hjemme")),
  radiusM: fc.oneof(
    fc.constantFrom("", "9", "10", "120", "100000", "100001", "1e3", "abc"),
    fc.string({ maxLength: 5 }),
  ),
  active: fc.boolean(),
  alarmOn: fc.constantFrom("exit", "enter", "both"),
  windowStart: times,
  windowEnd: times,
});

describe("the geofence form", () => {
  it("refuses what the API refuses (a window is both ends or neither), on the field, in both languages", () => {
    fc.assert(
      fc.property(inputs, fc.constantFrom(circle, polygon), (input, shape) => {
        const r = geofenceForm(shape).safeParse(input);
        const start = input.windowStart.trim();
        const end = input.windowEnd.trim();
        const radius = input.radiusM.trim() === "" ? Number.NaN : Number(input.radiusM);
        const api = geofenceCreate.safeParse({
          name: input.name,
          shape: shape.kind === "circle" ? { ...shape, radiusM: radius } : shape,
          active: input.active,
          alarmOn: input.alarmOn,
          window: start ? { start, end } : null,
        });
        expect(r.success).toBe(api.success && (start === "") === (end === ""));
        if (r.success) {
          expect(r.data).toEqual(api.data);
          return;
        }
        for (const issue of r.error.issues) {
          const field = String(issue.path[0]) as keyof GeofenceFormInput;
          expect(Object.keys(input)).toContain(field);
          if (shape.kind === "polygon") expect(field).not.toBe("radiusM");
          const key = geofenceFieldError(field);
          expect(dictionaries.en[key]).toBeTruthy();
          expect(dictionaries.nb[key]).toBeTruthy();
        }
      }),
    );
  });

  it("starts with the drawn radius, active all day, an alarm on leaving, and refuses only its empty name", () => {
    const empty = geofenceForm(circle).safeParse(emptyGeofenceForm(circle));
    expect(empty.error?.issues.map((i) => i.path)).toEqual([["name"]]);
    const saved = geofenceForm(circle).parse({
      ...emptyGeofenceForm(circle),
      name: " Hjemme ",
      radiusM: "250",
    });
    expect(saved).toEqual({
      name: "Hjemme",
      shape: { ...circle, radiusM: 250 },
      active: true,
      alarmOn: "exit",
      window: null,
    });
  });

  it("refuses half a window on the end left empty, and an hour past 23 on its field", () => {
    const half = geofenceForm(polygon).safeParse({
      ...emptyGeofenceForm(polygon),
      name: "Skole",
      windowStart: "08:00",
    });
    expect(half.error?.issues.map((i) => i.path)).toEqual([["windowEnd"]]);
    const late = geofenceForm(polygon).safeParse({
      ...emptyGeofenceForm(polygon),
      name: "Skole",
      windowStart: "08:00",
      windowEnd: "24:00",
    });
    expect(late.error?.issues.map((i) => i.path)).toEqual([["windowEnd"]]);
  });
});
