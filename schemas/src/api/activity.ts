import { z } from "zod";
import { instant } from "../common";

export const activityEntry = z.object({
  seq: z.number().int(),
  id: z.uuid(),
  at: z.iso.datetime(),
  actorType: z.enum(["user", "api_token", "system", "anonymous"]),
  actorId: z.uuid().nullable(),
  sessionId: z.string().nullable(),
  action: z.string(),
  subjectType: z.string().nullable(),
  subjectId: z.uuid().nullable(),
  recipientIds: z.array(z.uuid()),
  /** How many recipients of the row lie outside a department auditor's departments (left out of recipientIds). */
  recipientsWithheld: z.number().int().min(1).optional(),
  reason: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  ip: z.string().nullable(),
});
export type ActivityEntry = z.infer<typeof activityEntry>;

export const activityQuery = z.object({
  userId: z.uuid().optional(),
  recipientId: z.uuid().optional(),
  action: z.string().max(100).optional(),
  from: instant().optional(),
  to: instant().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  beforeSeq: z.coerce.number().int().min(1).optional(),
});

export const activityVerifyResult = z.object({
  ok: z.boolean(),
  rows: z.number().int(),
  /** Rows before the organisation's first keyed row, verified with the older unkeyed rule. */
  legacyRows: z.number().int(),
  checkpoints: z.number().int(),
  /** Rows after this seq are protected by the key only, not yet by a signed checkpoint. */
  lastCheckpointSeq: z.number().int().nullable(),
  findings: z.array(
    z.object({
      kind: z.enum([
        "changed row",
        "missing row",
        "inserted row",
        "unknown key",
        "tail truncated after a checkpoint",
        "chain rewritten",
        "forged anchor",
        "bad checkpoint",
      ]),
      seq: z.number().int(),
      detail: z.string(),
    }),
  ),
  firstProblem: z.object({ seq: z.number().int(), problem: z.string() }).nullable(),
});
