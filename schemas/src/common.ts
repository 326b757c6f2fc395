import { z } from "zod";

/** Epoch milliseconds for 2000-01-01T00:00:00Z: no device clock is right before that. */
export const EARLIEST_DEVICE_TIME_MS = Date.UTC(2000, 0, 1);
/** How far ahead of the server clock a device timestamp may be (clock skew, not time travel). */
export const MAX_FUTURE_SKEW_MS = 10 * 60_000;

export const latitude = z.number().min(-90).max(90).describe("degrees, WGS 84");
export const longitude = z.number().min(-180).max(180).describe("degrees, WGS 84");

/** Device timestamps are epoch milliseconds (UTC); the range excludes garbage, skew is checked against the clock. */
export const epochMs = z
  .number()
  .int()
  .min(EARLIEST_DEVICE_TIME_MS)
  .max(Date.UTC(2100, 0, 1))
  .describe("epoch milliseconds, UTC");

export const percent = z.number().min(0).max(100).describe("percent, 0-100");

/**
 * A point in time from outside (a query's from and to, a token's expiry): ISO 8601 with an offset,
 * in a year PostgreSQL takes. "0000-01-01T00:00:00Z" matches ISO's pattern, but PostgreSQL has no
 * year 0 (1 BC comes before 1 AD) and refuses it: it must stop here, not fail in a query.
 */
export const instant = () =>
  z.iso.datetime({ offset: true }).refine((s) => !s.startsWith("0000"), "year 0 is not a year");

const UP_TO_19_DIGITS = /^\d{1,19}$/;
/** A bigint page cursor (a row id): at most int8's largest value, which PostgreSQL can hold. */
export const bigintCursor = () =>
  z
    .string()
    .regex(UP_TO_19_DIGITS)
    // The pattern's failure does not stop the refinement: it must not throw on what the pattern refused.
    .refine((s) => UP_TO_19_DIGITS.test(s) && BigInt(s) <= 9_223_372_036_854_775_807n, "larger than any id");

/** Device-side message id: what makes QoS 1 redelivery idempotent. */
export const messageId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._:-]+$/, "letters, digits and . _ : - only");

/** A device's serial doubles as its MQTT username and topic segment. */
export const deviceSerial = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, _ and - only");

export const uuid = z.uuid();

export type TimestampProblem = "before_2000" | "in_the_future";

/** Checks a device timestamp against the server clock; undefined when acceptable. */
export function checkDeviceTime(tMs: number, nowMs: number): TimestampProblem | undefined {
  if (tMs < EARLIEST_DEVICE_TIME_MS) return "before_2000";
  if (tMs > nowMs + MAX_FUTURE_SKEW_MS) return "in_the_future";
  return undefined;
}
