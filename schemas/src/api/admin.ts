import { z } from "zod";
import { latitude, longitude } from "../common";
import { deviceSettings } from "../device/messages";

export const idParam = z.object({ id: z.uuid() });

export const roleKey = z.enum(["org_admin", "dept_admin", "operator", "locator", "auditor"]);
export type RoleKey = z.infer<typeof roleKey>;

export const organisation = z.object({
  id: z.uuid(),
  name: z.string(),
  slug: z.string(),
  timeZone: z.string(),
  requireAdminSecondFactor: z.boolean(),
});
export const organisationUpdate = z
  .object({
    name: z.string().min(1).max(200),
    timeZone: z.string().min(1).max(64),
    requireAdminSecondFactor: z.boolean(),
  })
  .partial();

export const department = z.object({
  id: z.uuid(),
  parentId: z.uuid().nullable(),
  name: z.string(),
  ancestry: z.array(z.uuid()),
  closedAt: z.iso.datetime().nullable(),
});
export type Department = z.infer<typeof department>;
export const departmentCreate = z.object({
  name: z.string().trim().min(1).max(200),
  parentId: z.uuid().nullable(),
});
export const departmentUpdate = z
  .object({ name: z.string().trim().min(1).max(200), parentId: z.uuid().nullable() })
  .partial();

export const grant = z.object({ role: roleKey, departmentId: z.uuid().nullable() });
export const staffUser = z.object({
  id: z.uuid(),
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  phone: z.string().nullable(),
  /**
   * The stored phone is not valid E.164 (saved before numbers were checked): the SMS channel skips it
   * until an administrator corrects it. `phoneSuggestion`: its E.164 form, when one can be read from it.
   */
  phoneNeedsCorrection: z.boolean().default(false),
  phoneSuggestion: z.string().nullable().default(null),
  status: z.enum(["active", "disabled"]),
  secondFactorEnabled: z.boolean(),
  lastLoginAt: z.iso.datetime().nullable(),
  grants: z.array(grant),
});
export type StaffUser = z.infer<typeof staffUser>;
export const staffUserCreated = z.object({
  user: staffUser,
  /** Shown once: the link the new user opens to choose a password. */
  invitationToken: z.string(),
  invitationExpiresAt: z.iso.datetime(),
});
export const legalBasis = z.enum(["consent", "formal_decision", "other"]);
const isoDate = z.iso.date();
export const recipient = z.object({
  /** A pseudonym (not a uuid) when read with a pseudonymous API token. */
  id: z.string(),
  departmentId: z.uuid(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  birthDate: isoDate.nullable(),
  responderNotes: z.string().nullable(),
  legalBasis: legalBasis,
  legalBasisReference: z.string().nullable(),
  legalBasisDate: isoDate.nullable(),
  status: z.enum(["active", "ended"]),
  serviceEndedOn: isoDate.nullable(),
});
export type Recipient = z.infer<typeof recipient>;
export const recipientCreate = z.object({
  departmentId: z.uuid(),
  firstName: z.string().trim().min(1).max(100),
  lastName: z.string().trim().min(1).max(100),
  birthDate: isoDate.nullable().optional(),
  responderNotes: z.string().max(4000).optional(),
  legalBasis: legalBasis,
  legalBasisReference: z.string().trim().max(200).nullable().optional(),
  legalBasisDate: isoDate.nullable().optional(),
});
export const recipientUpdate = recipientCreate
  .extend({ status: z.enum(["active", "ended"]), serviceEndedOn: isoDate.nullable() })
  .partial();

/**
 * How a device talks to Vakt, fixed at provisioning: the Vakt contract over MQTT, the OwnTracks app over
 * MQTT (both log in with the serial and a password), or the OsmAnd protocol over HTTP (the Traccar
 * Client app, which carries only an issued identifier).
 */
export const deviceProtocols = ["mqtt", "owntracks", "osmand"] as const;
export const deviceProtocol = z.enum(deviceProtocols);
export type DeviceProtocol = z.infer<typeof deviceProtocol>;

export const device = z.object({
  /** A pseudonym (not a uuid) when read with a pseudonymous API token. */
  id: z.string(),
  departmentId: z.uuid(),
  /** For pseudonymous API tokens the device's pseudonym (as id), never the real serial. */
  serial: z.string(),
  protocol: deviceProtocol,
  imei: z.string().nullable(),
  model: z.string(),
  /** A pseudonym (not a uuid) when read with a pseudonymous API token. */
  recipientId: z.string().nullable(),
  desiredConfig: deviceSettings,
  desiredConfigVersion: z.number().int(),
  /** The settings the device last reported running (its status message), null before it has. */
  reportedConfig: deviceSettings.nullable(),
  reportedConfigVersion: z.number().int().nullable(),
  /**
   * Whether the device runs the desired configuration: `confirmed` when it reported the desired
   * version, `pending` until it has, `not_applicable` for OsmAnd devices (no downlink to send it on).
   */
  configState: z.enum(["confirmed", "pending", "not_applicable"]),
  lastSeenAt: z.iso.datetime().nullable(),
  batteryPercent: z.number().int().nullable(),
  charging: z.boolean().nullable(),
  /** Mobile signal in dBm and firmware, from the newest status message that carried each. */
  signalDbm: z.number().int().nullable(),
  firmware: z.string().nullable(),
  online: z.boolean(),
  retiredAt: z.iso.datetime().nullable(),
});
export type Device = z.infer<typeof device>;
export const deviceCreate = z.object({
  departmentId: z.uuid(),
  serial: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    // The brokers keep client ids beginning with "vakt-" for the services (ingest, api).
    .refine((s) => !s.toLowerCase().startsWith("vakt-"), "serials beginning with vakt- are reserved"),
  imei: z
    .string()
    .regex(/^[0-9]{15}$/)
    .optional(),
  model: z.string().trim().min(1).max(64).optional(),
  settings: deviceSettings.optional(),
  /** Default `mqtt`. */
  protocol: deviceProtocol.optional(),
});
/** A device's credentials, shown once (at provisioning and rotation) and stored only as hashes. */
export const deviceCredentials = z.discriminatedUnion("protocol", [
  z.object({
    protocol: z.enum(["mqtt", "owntracks"]),
    device,
    /** MQTT username (the serial) and password. */
    mqttUsername: z.string(),
    mqttPassword: z.string(),
  }),
  z.object({
    protocol: z.literal("osmand"),
    device,
    /**
     * The device identifier to enter in the Traccar Client app (it is sent as `id`): the device's only
     * credential, distinct from its serial. No MQTT credentials.
     */
    osmandDeviceId: z.string(),
  }),
]);
export type DeviceCredentials = z.infer<typeof deviceCredentials>;
export const deviceAssign = z.object({ recipientId: z.uuid().nullable() });
export const deviceSwap = z.object({ replacementDeviceId: z.uuid() });
export const deviceConfigure = z.object({ settings: deviceSettings });

const point = z.object({ lat: latitude, lon: longitude });
export const geofenceShape = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("circle"), center: point, radiusM: z.number().min(10).max(100_000) }),
  z.object({ kind: z.literal("polygon"), points: z.array(point).min(3).max(200) }),
]);
const timeOfDay = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, "HH:MM");
/** When crossing the fence raises an alarm: leaving it (the default), entering it, or both. */
export const geofenceAlarmOn = z.enum(["exit", "enter", "both"]);
export type GeofenceAlarmOn = z.infer<typeof geofenceAlarmOn>;
export const geofence = z.object({
  id: z.uuid(),
  recipientId: z.uuid(),
  name: z.string(),
  shape: geofenceShape,
  active: z.boolean(),
  alarmOn: geofenceAlarmOn,
  window: z.object({ start: timeOfDay, end: timeOfDay }).nullable(),
});
export type Geofence = z.infer<typeof geofence>;
export const geofenceCreate = z.object({
  name: z.string().trim().min(1).max(100),
  shape: geofenceShape,
  active: z.boolean().optional(),
  alarmOn: geofenceAlarmOn.optional(),
  window: z.object({ start: timeOfDay, end: timeOfDay }).nullable().optional(),
});
export const geofenceUpdate = geofenceCreate.partial();
