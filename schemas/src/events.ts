/**
 * Events between processes, sent with PostgreSQL NOTIFY on `EVENTS_CHANNEL`
 * (after the commit that made them true, so a listener can read the rows).
 * Payloads stay small (ids only; NOTIFY payloads are limited to 8000 bytes):
 * listeners load what they need, scoped to what each client may see.
 */
import { z } from "zod";

export const EVENTS_CHANNEL = "vakt_events";

const scope = {
  organisationId: z.uuid(),
  departmentId: z.uuid(),
  recipientId: z.uuid().nullable(),
  deviceId: z.uuid(),
};

export const platformEvent = z.discriminatedUnion("kind", [
  /** A new alarm, from a device or derived by the platform. */
  z.object({ kind: z.literal("alarm.raised"), alarmId: z.uuid(), ...scope }),
  /** Any later transition (taken, commented, resolved, cancelled, reopened, cleared). */
  z.object({ kind: z.literal("alarm.changed"), alarmId: z.uuid(), ...scope }),
  /** Online/offline, battery or charging changed. */
  z.object({ kind: z.literal("device.changed"), ...scope }),
]);
export type PlatformEvent = z.infer<typeof platformEvent>;
