import { z } from "zod";
import { bigintCursor, instant } from "../common";

/** A message ingest refused, kept with the reason (never silently dropped). */
export const deadLetter = z.object({
  /** bigint, as a string. */
  id: z.string(),
  receivedAt: z.iso.datetime(),
  transport: z.enum(["mqtt", "http"]),
  topic: z.string(),
  deviceId: z.uuid().nullable(),
  deviceSerial: z.string().nullable(),
  reason: z.string(),
  /**
   * What was wrong, in words. Null when withheld (see contentWithheld): it can quote the payload (a
   * JSON parser's message does) or a position already stored (a conflicting fix).
   */
  detail: z.string().nullable(),
  /** The payload's first bytes (bounded by ingest), as text; null when withheld. */
  payloadExcerpt: z.string().nullable(),
  payloadBytes: z.number().int(),
  /**
   * True when the caller may not read positions in the device's department: a refused message is
   * mostly a position (a wearer's whereabouts), so its text and the detail are shown only to those
   * who may see where the wearer is. The reason, topic, time and size are shown to every caller.
   */
  contentWithheld: z.boolean(),
});
export type DeadLetter = z.infer<typeof deadLetter>;

export const deadLetterQuery = z.object({
  reason: z.string().max(64).optional(),
  deviceId: z.uuid().optional(),
  from: instant().optional(),
  to: instant().optional(),
  /** Page backwards: only rows with a smaller id. */
  before: bigintCursor().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type DeadLetterQuery = z.infer<typeof deadLetterQuery>;

export const deadLetterPage = z.object({
  items: z.array(deadLetter),
  /** Pass as `before` for the next (older) page; null when this is the last. */
  nextBefore: z.string().nullable(),
});
