import { z } from "zod";
import { instant } from "../common";

/**
 * One entry of a device's transactions log (Safemate's "transaksjonslogg"): a message the device
 * sent (uplink) or the platform sent it (downlink), as it went.
 */
export const deviceMessage = z.object({
  time: z.iso.datetime(),
  direction: z.enum(["uplink", "downlink"]),
  topic: z.string(),
  /** position, status, alarm, … for uplinks; config, command, ack, owntracks_command for downlinks. */
  kind: z.string(),
  /** The device's own message id (uplink), or what a downlink names or answers. */
  messageId: z.string().nullable(),
  /** The message's text; null when withheld (see contentWithheld). */
  payload: z.string().nullable(),
  /**
   * True when the caller may not read positions in the device's department: most messages hold the
   * wearer's position, so their text is shown only to those who may see where the wearer is.
   */
  contentWithheld: z.boolean(),
});
export type DeviceMessage = z.infer<typeof deviceMessage>;

/**
 * A cursor is microseconds, a dot, and the entry's tie-breaker as UTF-8 in hex: one that decodes to
 * something that is not text (broken UTF-8, a NUL, which PostgreSQL text cannot hold) was made up.
 */
function isPageCursor(cursor: string): boolean {
  if (!/^\d{1,17}\.(?:[0-9a-f]{2}){1,200}$/.test(cursor)) return false;
  const hex = cursor.slice(cursor.indexOf(".") + 1);
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  try {
    return !new TextDecoder("utf-8", { fatal: true }).decode(bytes).includes("\u0000");
  } catch {
    return false;
  }
}

export const deviceMessageQuery = z.object({
  deviceId: z.uuid(),
  direction: z.enum(["uplink", "downlink"]).optional(),
  from: instant().optional(),
  to: instant().optional(),
  /** Page backwards: the `nextBefore` of the previous page. */
  before: z
    .string()
    .regex(/^\d{1,17}\.(?:[0-9a-f]{2}){1,200}$/)
    .refine(isPageCursor, "not a page cursor this API gave")
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type DeviceMessageQuery = z.infer<typeof deviceMessageQuery>;

export const deviceMessagePage = z.object({
  items: z.array(deviceMessage),
  /** Pass as `before` for the next (older) page; null when this is the last. */
  nextBefore: z.string().nullable(),
});
export type DeviceMessagePage = z.infer<typeof deviceMessagePage>;
