/**
 * A locator's reason as its form holds it: at least LOCATOR_REASON_MIN_LENGTH characters (the
 * console asks for more than the API's minimum, so the reason says something), then the API's own
 * reason schema (reasonQuery), so nothing the API would refuse is sent with a look-up.
 */
import { LOCATOR_REASON_MIN_LENGTH, reasonQuery } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const reasonForm = z.object({
  reason: z.string().trim().min(LOCATOR_REASON_MIN_LENGTH).pipe(reasonQuery.shape.reason.unwrap()),
});
export type ReasonFormInput = z.input<typeof reasonForm>;
export type ReasonFormOutput = z.output<typeof reasonForm>;

/** What to say under a refused reason, in the console's words (never zod's English). */
export const reasonError = (reason: string): MessageKey =>
  reason.trim().length < LOCATOR_REASON_MIN_LENGTH ? "reason.error.short" : "reason.error.long";
