/**
 * Creating and changing staff users: apart from the rest of administration because a phone number
 * is checked with libphonenumber-js, which the console's login page should not download.
 */
import { z } from "zod";
import { grant } from "./admin";
import { email } from "./auth";
import { e164Phone } from "./contacts";

export const staffUserCreate = z.object({
  email,
  firstName: z.string().trim().min(1).max(100),
  lastName: z.string().trim().min(1).max(100),
  phone: e164Phone.optional(),
  grants: z.array(grant).min(1).max(50),
});
export const staffUserUpdate = z
  .object({
    firstName: z.string().trim().min(1).max(100),
    lastName: z.string().trim().min(1).max(100),
    phone: e164Phone.nullable(),
    status: z.enum(["active", "disabled"]),
    grants: z.array(grant).min(1).max(50),
    /** For a lost phone: removes the authenticator; the user enrols again at the next login. */
    resetSecondFactor: z.literal(true),
  })
  .partial();
