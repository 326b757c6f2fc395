import { z } from "zod";

/** RFC 9457 problem details, the one error shape of every 4xx and 5xx. */
export const problem = z.object({
  type: z.string().describe("URI reference naming the problem type"),
  title: z.string(),
  status: z.number().int().min(400).max(599),
  detail: z.string().optional(),
  instance: z.string().optional(),
  requestId: z.string(),
  /** For validation problems: which fields, and what is wrong with each. */
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof problem>;
