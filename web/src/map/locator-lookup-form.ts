/**
 * A locator's look-up form: the recipient chosen from the list, checked by the API's id schema
 * (idParam), so "Choose a person" is refused under the field instead of being looked up.
 */
import { idParam } from "@vakt/schemas";
import { z } from "zod";

export const locatorLookupForm = z.object({ recipientId: z.string() }).transform((f, ctx) => {
  const r = idParam.safeParse({ id: f.recipientId });
  if (r.success) return { recipientId: r.data.id };
  ctx.addIssue({ code: "custom", message: "choose", path: ["recipientId"] });
  return z.NEVER;
});
export type LocatorLookupInput = z.input<typeof locatorLookupForm>;
export type LocatorLookupBody = z.output<typeof locatorLookupForm>;
