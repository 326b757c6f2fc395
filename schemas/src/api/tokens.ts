import { z } from "zod";
import { instant } from "../common";

/** What an integration token may be given; never administration. */
/** Reads, and the one write a token may be granted explicitly: asking a device for its position. */
export const tokenPermission = z.enum([
  "recipient:read",
  "device:read",
  "alarm:read",
  "position:read",
  "device:locate",
]);
export type TokenPermission = z.infer<typeof tokenPermission>;

export const apiToken = z.object({
  id: z.uuid(),
  name: z.string(),
  permissions: z.array(tokenPermission),
  /** null: the whole organisation. */
  departmentIds: z.array(z.uuid()).nullable(),
  pseudonymous: z.boolean(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
export const apiTokenCreate = z
  .object({
    name: z.string().trim().min(1).max(100),
    permissions: z.array(tokenPermission).min(1),
    departmentIds: z.array(z.uuid()).min(1).nullable(),
    pseudonymous: z.boolean().default(true),
    expiresAt: instant().nullable().optional(),
  })
  // A pseudonymous token knows no real device id, and a real id from it is refused: it could
  // never use device:locate, so the combination is refused where it is made.
  .refine((t) => !(t.pseudonymous && t.permissions.includes("device:locate")), {
    path: ["permissions"],
    message: "device:locate needs a token that is not pseudonymous",
  });
export const apiTokenCreated = z.object({ token: apiToken, secret: z.string() });
