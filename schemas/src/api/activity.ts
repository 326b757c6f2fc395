import { z } from "zod";

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
  reason: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  ip: z.string().nullable(),
});
export type ActivityEntry = z.infer<typeof activityEntry>;

export const activityQuery = z.object({
  userId: z.uuid().optional(),
  recipientId: z.uuid().optional(),
  action: z.string().max(100).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  beforeSeq: z.coerce.number().int().min(1).optional(),
});

export const activityVerifyResult = z.object({
  ok: z.boolean(),
  rows: z.number().int(),
  firstProblem: z.object({ seq: z.number().int(), problem: z.string() }).nullable(),
});
