/**
 * The form for a geofence just drawn: its name, the circle's radius (a polygon's shape is what was
 * drawn), whether it is active, when crossing it raises an alarm (leaving, entering or both) and an
 * optional daily window, as the form holds them (strings),
 * checked by the shared create schema so the form refuses on the field what the API would refuse.
 * A window is both ends or neither.
 */
import { geofenceAlarmOn, geofenceCreate } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";
import type { GeofenceShape } from "./geofence-shape";

const raw = z.object({
  name: z.string(),
  radiusM: z.string(),
  active: z.boolean(),
  alarmOn: geofenceAlarmOn,
  windowStart: z.string(),
  windowEnd: z.string(),
});
export type GeofenceFormInput = z.input<typeof raw>;
export type GeofenceBody = z.output<typeof geofenceCreate>;

/** Where the shared schema's issues land on the form's fields. */
function fieldOf(path: readonly PropertyKey[]): keyof GeofenceFormInput {
  if (path[0] === "shape") return "radiusM";
  if (path[0] === "window") return path[1] === "end" ? "windowEnd" : "windowStart";
  if (path[0] === "active") return "active";
  return "name";
}

/** The form of a geofence of this drawn shape; a circle takes its radius from the form. */
export function geofenceForm(shape: GeofenceShape) {
  return raw.transform((f, ctx): GeofenceBody => {
    const start = f.windowStart.trim();
    const end = f.windowEnd.trim();
    if ((start === "") !== (end === "")) {
      ctx.addIssue({ code: "custom", message: "half a window", path: [start ? "windowEnd" : "windowStart"] });
      return z.NEVER;
    }
    const radius = f.radiusM.trim() === "" ? Number.NaN : Number(f.radiusM);
    const r = geofenceCreate.safeParse({
      name: f.name,
      shape: shape.kind === "circle" ? { ...shape, radiusM: radius } : shape,
      active: f.active,
      alarmOn: f.alarmOn,
      window: start ? { start, end } : null,
    });
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: [fieldOf(issue.path)] });
    return z.NEVER;
  });
}

/** The form as a shape was drawn: no name yet, the circle's radius as drawn, active, all day. */
export const emptyGeofenceForm = (shape: GeofenceShape): GeofenceFormInput => ({
  name: "",
  radiusM: shape.kind === "circle" ? String(shape.radiusM) : "",
  active: true,
  alarmOn: "exit",
  windowStart: "",
  windowEnd: "",
});

/** What to say under a field the schema refused, in the console's words (never zod's English). */
export function geofenceFieldError(field: keyof GeofenceFormInput): MessageKey {
  switch (field) {
    case "radiusM":
      return "geofence.error.radius";
    case "windowStart":
    case "windowEnd":
      return "geofence.error.window";
    default:
      return "geofence.error.name";
  }
}
