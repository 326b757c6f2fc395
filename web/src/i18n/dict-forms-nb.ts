/** The administration forms' field messages in Norwegian bokmål (dict-forms.ts has the English). */
import type { enForms } from "./dict-forms";

export const nbForms: Record<keyof typeof enForms, string> = {
  "users.error.email": "Skriv en hel e-postadresse, for eksempel navn@eksempel.no.",
  "users.error.firstName": "Skriv fornavnet (høyst 100 tegn).",
  "users.error.lastName": "Skriv etternavnet (høyst 100 tegn).",
  "users.error.role": "Velg en av rollene.",
  "users.error.department": "Velg en åpen avdeling, eller hele organisasjonen.",
  "dept.error.name": "Gi avdelingen et navn (høyst 200 tegn).",
  "dept.error.parent": "Velg en åpen overordnet avdeling, eller øverste nivå.",
  "devices.error.serial":
    "Et serienummer er 1 til 64 bokstaver (A–Z), sifre, bindestreker eller understreker.",
  "devices.error.serialReserved": "Serienumre som begynner med vakt- er holdt av til Vakts egne tjenester.",
  "devices.error.department": "Velg den åpne avdelingen enheten hører til.",
  "devices.error.protocol": "Velg hvordan enheten snakker med Vakt.",
  "recipients.error.firstName": "Skriv fornavnet (høyst 100 tegn).",
  "recipients.error.lastName": "Skriv etternavnet (høyst 100 tegn).",
  "recipients.error.department": "Velg den åpne avdelingen tjenestemottakeren hører til.",
  "recipients.error.legalBasis": "Velg det rettslige grunnlaget for å spore tjenestemottakeren.",
  "recipients.error.responderNotes": "Notatene til de som rykker ut er høyst 4 000 tegn.",
  "retention.error.range": "Et helt antall dager, fra {min} til {max}.",
  "retention.error.atLeast": "Et helt antall dager, minst {min}.",
  "activity.error.user": "Velg noen fra listen.",
  "activity.error.action": "En handling er høyst 100 tegn, for eksempel alarm.taken.",
  "activity.error.when": "Skriv en hel dato og et klokkeslett.",
  "activity.error.order": "Slutten er før starten.",
  "activity.filters": "Filtrer aktivitetsloggen",
};
