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

export const deviceMessageQuery = z.object({
  deviceId: z.uuid(),
  direction: z.enum(["uplink", "downlink"]).optional(),
  from: instant().optional(),
  to: instant().optional(),
  /** Page backwards: the `nextBefore` of the previous page. */
  before: z
    .string()
    .regex(/^\d{1,17}\.[0-9a-f]{32}$/)
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
