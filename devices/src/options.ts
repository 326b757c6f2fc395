/** Simulator options and device lists: outside input, parsed with zod. */
import { deviceSerial, latitude, longitude } from "@vakt/schemas";
import { z } from "zod";
import { defaultBatteryParams } from "./battery";
import { malformedKind, malformedKinds } from "./malformed";
import { defaultMovementParams } from "./movement";

export const latLon = z.strictObject({ lat: latitude, lon: longitude });

export const simDevice = z.strictObject({
  serial: deviceSerial,
  secret: z.string().min(1).max(256),
  home: latLon,
});
export type SimDevice = z.infer<typeof simDevice>;

/** A devices file: `[{serial, secret, home: {lat, lon}}, ...]`, serials unique. */
export const deviceList = z.array(simDevice).superRefine((devices, ctx) => {
  const seen = new Set<string>();
  devices.forEach((d, i) => {
    if (seen.has(d.serial))
      ctx.addIssue({ code: "custom", message: `duplicate serial ${d.serial}`, path: [i] });
    seen.add(d.serial);
  });
});

const rate = z.number().min(0).max(1);
const perHour = z.number().min(0).max(3600);

const movementParams = z.strictObject({
  minSpeedMps: z.number().positive(),
  maxSpeedMps: z.number().positive(),
  maxTurnRateDegPerS: z.number().positive(),
  headingWobbleDeg: z.number().min(0),
  roamRadiusM: z.number().positive(),
  minOutingM: z.number().positive(),
  dwellHomeMinS: z.number().min(0),
  dwellHomeMaxS: z.number().min(0),
  dwellAwayMinS: z.number().min(0),
  dwellAwayMaxS: z.number().min(0),
  arriveWithinM: z.number().positive(),
  maxStepS: z.number().positive(),
});

const batteryParams = z.strictObject({
  idleDrainPctPerHour: z.number().min(0),
  trackingDrainPctPerHour: z.number().min(0),
  chargePctPerHour: z.number().positive(),
  plugInPerHour: z.number().min(0),
  plugInMinPct: z.number().min(0).max(100),
  plugInMaxPct: z.number().min(0).max(100),
});

export const simOptions = z.strictObject({
  /** Tracking on before the platform's configuration arrives (the demo's `--tracking N`). */
  tracking: z.boolean().default(false),
  /** Position interval while tracking; below the contract's 10 s minimum is allowed for demos. */
  reportIntervalS: z.number().positive().default(120),
  heartbeatIntervalS: z.number().positive().default(900),

  sosPerHour: perHour.default(0.002),
  fallPerHour: perHour.default(0.001),
  /** Share of falls the wearer cancels within the device's window. */
  fallCancelRate: rate.default(0.3),
  fallCancelAfterS: z.number().min(0).default(20),
  /** Walks beyond the geofence radius from home. */
  wanderPerHour: perHour.default(0.01),
  geofenceRadiusM: z.number().positive().default(300),
  /** Going silent: no publishing at all, heartbeat included. */
  silencePerHour: perHour.default(0.005),
  silenceMinS: z.number().min(0).default(300),
  silenceMaxS: z.number().min(0).default(3600),
  /** Share of devices whose clock is off, and by up to how much (either way). */
  skewRate: rate.default(0.02),
  skewMaxMs: z
    .number()
    .int()
    .min(0)
    .default(15 * 60_000),
  /** Share of uplinks followed by a malformed one (a separate message; the valid one still goes). */
  malformedRate: rate.default(0),
  malformedKinds: z
    .array(malformedKind)
    .min(1)
    .default([...malformedKinds]),
  oversizedBytes: z.number().int().positive().default(70_000),
  /** Share of uplinks published twice with the same message id. */
  redeliveryRate: rate.default(0.01),

  firmware: z.string().max(64).default("vakt-sim/0.1.0"),
  /** Simulation step, clock milliseconds. */
  tickMs: z.number().positive().default(1000),
  /** New connections per second while starting. */
  connectRatePerS: z.number().positive().default(200),
  reconnectMinMs: z.number().int().positive().default(1000),
  reconnectMaxMs: z.number().int().positive().default(5000),
  keepaliveS: z.number().int().min(0).default(60),
  cleanSession: z.boolean().default(false),
  protocolVersion: z.union([z.literal(4), z.literal(5)]).default(4),

  movement: movementParams.partial().default({}),
  battery: batteryParams.partial().default({}),
});
export type SimOptionsInput = z.input<typeof simOptions>;
export type SimOptions = z.output<typeof simOptions>;

export function resolvedMovement(options: SimOptions) {
  return { ...defaultMovementParams, ...options.movement };
}
export function resolvedBattery(options: SimOptions) {
  return { ...defaultBatteryParams, ...options.battery };
}

/** No random events at all: what scripted scenarios start from. Wearers stay home unless told. */
export const quietOptions: SimOptionsInput = {
  sosPerHour: 0,
  fallPerHour: 0,
  wanderPerHour: 0,
  silencePerHour: 0,
  skewRate: 0,
  malformedRate: 0,
  redeliveryRate: 0,
  movement: { dwellHomeMinS: 30 * 86_400, dwellHomeMaxS: 30 * 86_400 },
  battery: { idleDrainPctPerHour: 0, trackingDrainPctPerHour: 0 },
};

/** Later options win; `movement` and `battery` merge field by field. */
export function mergeOptions(
  ...layers: (SimOptionsInput | Record<string, unknown> | undefined)[]
): SimOptionsInput {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      if ((key === "movement" || key === "battery") && typeof value === "object" && value !== null) {
        out[key] = { ...(out[key] as object | undefined), ...value };
      } else if (value !== undefined) {
        out[key] = value;
      }
    }
  }
  return out as SimOptionsInput;
}
