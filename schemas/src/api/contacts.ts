/**
 * Phone numbers, a recipient's call list (issue 16 item 2), calls logged on an
 * alarm, and a staff user's own profile (phone, alarm sound).
 */
import { isValidPhoneNumber, parsePhoneNumberFromString } from "libphonenumber-js";
import { z } from "zod";

/**
 * A phone number as E.164 (+4791234567). National Norwegian numbers ("912 34 567")
 * are read with NO as the default region; anything libphonenumber-js does not
 * hold valid is refused, so the SMS channel and tel: links get only dialable numbers.
 */
export const e164Phone = z
  .string()
  .trim()
  .min(1)
  .max(32)
  .transform((s, ctx) => {
    const parsed = isValidPhoneNumber(s, "NO") ? parsePhoneNumberFromString(s, "NO") : undefined;
    if (!parsed) {
      ctx.addIssue({ code: "custom", message: "not a valid phone number (E.164, or a Norwegian number)" });
      return z.NEVER;
    }
    return parsed.number as string;
  })
  .meta({
    description: "E.164, or a national Norwegian number; stored and returned as E.164",
    example: "+4791234567",
  });

/** Whether `s` is a valid phone number written exactly as E.164 (what the SMS channel may send to). */
export function isE164(s: string): boolean {
  if (!/^\+[1-9][0-9]{1,14}$/.test(s)) return false;
  // Exactly what the phone schema would store: libphonenumber-js reads some numbers ("+989000")
  // differently with and without a default country, so the check goes through the schema itself.
  const parsed = e164Phone.safeParse(s);
  return parsed.success && parsed.data === s;
}

/**
 * A number stored before numbers were checked (" 912 34 567", "004791234567"): its E.164 form when
 * libphonenumber-js reads it as a valid number (national numbers as Norwegian), for an administrator
 * to confirm; null when it cannot be read (someone must find the right number).
 */
export function e164Suggestion(s: string): string | null {
  const parsed = e164Phone.safeParse(s);
  return parsed.success ? parsed.data : null;
}

export const contactRelation = z.enum(["next_of_kin", "neighbour", "own_phone", "doctor", "other"]);
export type ContactRelation = z.infer<typeof contactRelation>;

export const recipientContact = z.object({
  id: z.uuid(),
  recipientId: z.uuid(),
  /** 1-based place in the call list: who is called first. */
  position: z.number().int(),
  name: z.string(),
  relation: contactRelation,
  phone: z.string(),
  notes: z.string(),
  /** When they can be called, as the administrator wrote it ("08-22", "weekdays after 16"). */
  availability: z.string(),
});
export type RecipientContact = z.infer<typeof recipientContact>;

const contactName = z.string().trim().min(1).max(200);
export const recipientContactCreate = z.object({
  name: contactName,
  relation: contactRelation,
  phone: e164Phone,
  notes: z.string().trim().max(2000).optional(),
  availability: z.string().trim().max(200).optional(),
});
export const recipientContactUpdate = recipientContactCreate.partial();
export type RecipientContactCreate = z.infer<typeof recipientContactCreate>;
export type RecipientContactUpdate = z.infer<typeof recipientContactUpdate>;
/** PUT /recipients/{id}/contacts/order: every contact of the recipient, once, in the new order. */
export const recipientContactOrder = z.object({ ids: z.array(z.uuid()).min(1).max(100) });

export const callResult = z.enum(["reached", "no_answer", "wrong_number"]);
export type CallResult = z.infer<typeof callResult>;
/** POST /alarms/{id}/calls: one call made from the alarm panel. */
export const alarmCallBody = z.object({
  contactId: z.uuid(),
  result: callResult,
  note: z.string().trim().min(1).max(4000).optional(),
});
export type AlarmCallBody = z.infer<typeof alarmCallBody>;

/** Alarm sound, per user: kept on the server so it follows the user between browsers. */
export const soundPrefs = z.object({
  /** Beep on a new alarm in the queue. */
  newAlarms: z.boolean(),
  /** Ring, repeating, while an alarm this user was asked to take is untaken. */
  asked: z.boolean(),
  repeatS: z.union([z.literal(5), z.literal(10), z.literal(15), z.literal(30), z.literal(60)]),
});
export type SoundPrefsBody = z.infer<typeof soundPrefs>;

/** GET /auth/profile: the caller's own phone and sound. */
export const profile = z.object({
  phone: z.string().nullable(),
  /** null: never set (the console uses its defaults). */
  sound: soundPrefs.nullable(),
});
export type Profile = z.infer<typeof profile>;
export const profileUpdate = z.object({ phone: e164Phone.nullable(), sound: soundPrefs }).partial();
