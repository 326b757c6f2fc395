/**
 * The routing rule form as the administrator fills it (empty lists for "every type", text fields
 * for optional seconds), turned into the create body and checked by the shared schema itself, so
 * the form refuses exactly what the API would. Editing a rule fills the same form from the rule.
 */
import {
  type AlertRule,
  alarmSeverity,
  alarmType,
  alertRuleCreate,
  alertRuleUpdate,
  type EscalationStep,
  roleKey,
} from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const STEP_CHANNELS = ["console", "email", "sms"] as const;
export const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7] as const;

const window = z.object({ days: z.array(z.number()), start: z.string(), end: z.string() });
const step = z.object({
  waitS: z.number(),
  users: z.array(z.string()),
  roles: z.array(roleKey),
  channels: z.array(z.enum(STEP_CHANNELS)),
  endpointIds: z.array(z.string()),
});

/** "" is none (null); anything else must be a whole number, which the shared schema then bounds. */
const secondsOrNull = (text: string) => (text.trim() === "" ? null : Number(text));

export const ruleForm = z
  .object({
    name: z.string(),
    departmentId: z.string(),
    /** Empty: every alarm type (null in the rule). */
    alarmTypes: z.array(alarmType),
    /** Empty: every severity (null in the rule). */
    severities: z.array(alarmSeverity),
    /** Off: the rule applies at all times (null in the rule), whatever windows are filled in. */
    scheduled: z.boolean(),
    schedule: z.array(window),
    steps: z.array(step),
    cancelWindowS: z.string(),
    reminderIntervalS: z.string(),
    maxReminders: z.string(),
    enabled: z.boolean(),
  })
  .transform((f, ctx) => {
    const body = {
      name: f.name,
      departmentId: f.departmentId,
      alarmTypes: f.alarmTypes.length > 0 ? f.alarmTypes : null,
      severities: f.severities.length > 0 ? f.severities : null,
      schedule: f.scheduled ? f.schedule : null,
      steps: f.steps,
      cancelWindowS: secondsOrNull(f.cancelWindowS),
      reminderIntervalS: secondsOrNull(f.reminderIntervalS),
      maxReminders: f.maxReminders.trim() === "" ? 0 : Number(f.maxReminders),
      enabled: f.enabled,
    };
    // The shared schema decides; its issues land on the form's fields of the same names.
    const r = alertRuleCreate.safeParse(body);
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
    return z.NEVER;
  });

export type RuleFormInput = z.input<typeof ruleForm>;
export type RuleCreateBody = z.output<typeof ruleForm>;
export type RuleUpdateBody = z.infer<typeof alertRuleUpdate>;

/** A rule's department cannot change; everything else is sent, and `steps` replaces the steps. */
export function updateBody(body: RuleCreateBody): RuleUpdateBody {
  const { departmentId: _, ...rest } = body;
  return alertRuleUpdate.parse(rest);
}

export const newStep = (): RuleFormInput["steps"][number] => ({
  waitS: 120,
  users: [],
  roles: ["operator"],
  channels: ["console"],
  endpointIds: [],
});

export const newWindow = (): RuleFormInput["schedule"][number] => ({
  days: [...WEEKDAYS],
  start: "22:00",
  end: "07:00",
});

export const emptyRuleForm = (departmentId = ""): RuleFormInput => ({
  name: "",
  departmentId,
  alarmTypes: [],
  severities: [],
  scheduled: false,
  schedule: [newWindow()],
  steps: [newStep()],
  cancelWindowS: "",
  reminderIntervalS: "",
  maxReminders: "0",
  enabled: true,
});

const stepOf = (s: EscalationStep): RuleFormInput["steps"][number] => ({
  waitS: s.waitS,
  users: [...s.users],
  roles: [...s.roles],
  channels: [...s.channels],
  endpointIds: [...s.endpointIds],
});

/** The form filled from a stored rule, for editing it. */
export function ruleToForm(rule: AlertRule): RuleFormInput {
  return {
    name: rule.name,
    departmentId: rule.departmentId,
    alarmTypes: [...(rule.alarmTypes ?? [])],
    severities: [...(rule.severities ?? [])],
    scheduled: rule.schedule !== null,
    schedule: rule.schedule ? rule.schedule.map((w) => ({ ...w, days: [...w.days] })) : [newWindow()],
    steps: rule.steps.map(stepOf),
    cancelWindowS: rule.cancelWindowS === null ? "" : String(rule.cancelWindowS),
    reminderIntervalS: rule.reminderIntervalS === null ? "" : String(rule.reminderIntervalS),
    maxReminders: String(rule.maxReminders),
    enabled: rule.enabled,
  };
}

/** A checkbox list's new value: the item added (once) or taken out, in the list's order. */
export function toggled<T>(list: readonly T[], item: T, on: boolean, order?: readonly T[]): T[] {
  const next = on ? [...new Set([...list, item])] : list.filter((x) => x !== item);
  return order ? order.filter((x) => next.includes(x)) : next;
}

/** What to say under a field the schema refused, in the console's words (never zod's English). */
export function ruleFieldError(path: readonly (string | number)[]): MessageKey {
  const [head, , field] = path;
  if (head === "name") return "routing.error.name";
  if (head === "departmentId") return "routing.error.department";
  if (head === "cancelWindowS") return "routing.error.cancelWindow";
  if (head === "reminderIntervalS") return "routing.error.reminderInterval";
  if (head === "maxReminders") return "routing.error.maxReminders";
  if (head === "schedule") return field === "days" ? "routing.error.days" : "routing.error.schedule";
  if (head === "steps") return field === "waitS" ? "routing.error.waitS" : "routing.error.steps";
  return "routing.error.rule";
}
