import { z } from "zod";

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
  detail: z.string().nullable(),
  /** The payload's first bytes (bounded by ingest), as text. */
  payloadExcerpt: z.string(),
  payloadBytes: z.number().int(),
});
export type DeadLetter = z.infer<typeof deadLetter>;

export const deadLetterQuery = z.object({
  reason: z.string().max(64).optional(),
  deviceId: z.uuid().optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  /** Page backwards: only rows with a smaller id. */
  before: z
    .string()
    .regex(/^\d{1,19}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type DeadLetterQuery = z.infer<typeof deadLetterQuery>;

export const deadLetterPage = z.object({
  items: z.array(deadLetter),
  /** Pass as `before` for the next (older) page; null when this is the last. */
  nextBefore: z.string().nullable(),
});
