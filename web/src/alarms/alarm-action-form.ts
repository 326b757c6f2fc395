/**
 * The alarm panel's note and outcome as its form holds them, checked for the action pressed by that
 * action's shared body schema (take and cancel: the note optional; comment and resolve: required),
 * so the form refuses exactly what the API would. An empty note is no note.
 */
import {
  type AlarmCancelBody,
  type AlarmCommentBody,
  type AlarmOutcome,
  type AlarmResolveBody,
  type AlarmTakeBody,
  alarmCancelBody,
  alarmCommentBody,
  alarmOutcome,
  alarmResolveBody,
  alarmTakeBody,
} from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const outcomes = alarmOutcome.options.filter(
  (o): o is Exclude<AlarmOutcome, "false_alarm"> => o !== "false_alarm",
);
export type Outcome = (typeof outcomes)[number];
export type Action = "take" | "comment" | "resolve" | "cancel";

/** What the action posts: the action with its body, as its schema made it. */
export type AlarmActionRequest =
  | { action: "take"; body: AlarmTakeBody }
  | { action: "comment"; body: AlarmCommentBody }
  | { action: "resolve"; body: AlarmResolveBody }
  | { action: "cancel"; body: AlarmCancelBody };

const fields = z.object({ note: z.string(), outcome: z.enum(outcomes as [Outcome, ...Outcome[]]) });
export type AlarmActionInput = z.input<typeof fields>;
export const emptyAlarmAction: AlarmActionInput = { note: "", outcome: "helped_on_site" };

function request(action: Action, f: AlarmActionInput) {
  const note = f.note.trim() ? f.note : undefined;
  switch (action) {
    case "take":
      return alarmTakeBody.safeParse({ note });
    case "comment":
      return alarmCommentBody.safeParse({ note });
    case "resolve":
      return alarmResolveBody.safeParse({ outcome: f.outcome, note });
    case "cancel":
      return alarmCancelBody.safeParse({ note });
  }
}

/** The form's schema for one action. */
export function alarmActionForm(action: Action) {
  return fields.transform((f, ctx): AlarmActionRequest => {
    const r = request(action, f);
    if (r.success) return { action, body: r.data } as AlarmActionRequest;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
    return z.NEVER;
  });
}

/** What to say under the note the schema refused, in the console's words (never zod's English). */
export function alarmNoteError(action: Action, note: string): MessageKey {
  if (note.trim().length > 4000) return "alarm.error.noteTooLong";
  return action === "resolve" ? "alarm.error.noteToResolve" : "alarm.error.noteToComment";
}
