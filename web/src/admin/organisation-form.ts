/** The organisation settings form, checked by the shared update schema plus a known IANA zone. */
import { organisationUpdate } from "@vakt/schemas";
import type { z } from "zod";

/** The zones this browser knows; the API checks against its own list too. */
export const TIME_ZONES: readonly string[] =
  typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["Europe/Oslo"];

export const organisationForm = organisationUpdate.required().extend({
  name: organisationUpdate.shape.name.unwrap().trim().min(1),
  timeZone: organisationUpdate.shape.timeZone
    .unwrap()
    .refine((zone) => zone === "UTC" || TIME_ZONES.includes(zone), { message: "unknown time zone" }),
});
export type OrganisationFormValues = z.infer<typeof organisationForm>;
