/**
 * What the administration forms say under a field they refused (the invitation, a new department,
 * device or recipient, retention, single sign-on, the activity filters), in English
 * (dict-forms-nb.ts has the Norwegian); spread into dict-en.ts.
 */
export const enForms = {
  "users.error.email": "Write a whole e-mail address, such as name@example.no.",
  "users.error.firstName": "Write the first name (at most 100 characters).",
  "users.error.lastName": "Write the last name (at most 100 characters).",
  "users.error.role": "Choose one of the roles.",
  "users.error.department": "Choose an open department, or the whole organisation.",
  "dept.error.name": "Give the department a name (at most 200 characters).",
  "dept.error.parent": "Choose an open parent department, or the top level.",
  "devices.error.serial": "A serial is 1 to 64 letters (A–Z), digits, hyphens or underscores.",
  "devices.error.serialReserved": "Serials beginning with vakt- are kept for Vakt's own services.",
  "devices.error.department": "Choose the open department the device belongs to.",
  "devices.error.protocol": "Choose how the device talks to Vakt.",
  "recipients.error.firstName": "Write the first name (at most 100 characters).",
  "recipients.error.lastName": "Write the last name (at most 100 characters).",
  "recipients.error.department": "Choose the open department the recipient belongs to.",
  "recipients.error.legalBasis": "Choose the legal basis for tracking the recipient.",
  "recipients.error.responderNotes": "Notes for responders are at most 4,000 characters.",
  "retention.error.range": "A whole number of days, from {min} to {max}.",
  "retention.error.atLeast": "A whole number of days, at least {min}.",
  "activity.error.user": "Choose someone from the list.",
  "activity.error.action": "An action is at most 100 characters, such as alarm.taken.",
  "activity.error.when": "Write a whole date and time.",
  "activity.error.order": "The end is before the start.",
  "activity.filters": "Filter the activity log",
} as const;
