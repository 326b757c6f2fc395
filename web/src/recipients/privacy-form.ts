/**
 * The restriction, lifting and erasure forms as they hold their fields (strings), checked by the API's
 * reason schemas (privacyReason, reasonRequiredQuery for lifting), and for an erasure by the typed name
 * as well, so each form refuses on the field what the API (or the confirmation) would refuse.
 */
import { privacyReason, reasonRequiredQuery } from "@vakt/schemas";
import { z } from "zod";
import { erasureConfirmed } from "./privacy";

const reasonOf = (reason: string, ctx: z.RefinementCtx): string | undefined => {
  const r = privacyReason.safeParse({ reason });
  if (r.success) return r.data.reason;
  ctx.addIssue({ code: "custom", message: "reason", path: ["reason"] });
  return undefined;
};

export const restrictForm = z.object({ reason: z.string() }).transform((f, ctx) => {
  const reason = reasonOf(f.reason, ctx);
  return reason === undefined ? z.NEVER : { reason };
});
export type RestrictFormInput = z.input<typeof restrictForm>;
export type RestrictBody = z.output<typeof restrictForm>;

/** An erasure of this recipient: a reason, and the recipient's full name typed (its id without one). */
export function eraseForm(name: string, recipientId: string) {
  return z.object({ reason: z.string(), typed: z.string() }).transform((f, ctx) => {
    const reason = reasonOf(f.reason, ctx);
    const confirmed = erasureConfirmed(f.typed, name, recipientId);
    if (!confirmed) ctx.addIssue({ code: "custom", message: "typed", path: ["typed"] });
    return reason === undefined || !confirmed ? z.NEVER : { reason };
  });
}
export type EraseFormInput = z.input<ReturnType<typeof eraseForm>>;
export type EraseBody = z.output<ReturnType<typeof eraseForm>>;

/** Lifting a restriction (administration's list): the reason goes in the query, checked as the API checks it. */
export const liftForm = z.object({ reason: z.string() }).transform((f, ctx) => {
  const r = reasonRequiredQuery.safeParse({ reason: f.reason });
  if (r.success) return r.data;
  ctx.addIssue({ code: "custom", message: "reason", path: ["reason"] });
  return z.NEVER;
});
export type LiftFormInput = z.input<typeof liftForm>;
export type LiftQuery = z.output<typeof liftForm>;
