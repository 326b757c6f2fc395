import { alarmCancelBody, alarmCommentBody, alarmResolveBody, alarmTakeBody } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import {
  type Action,
  type AlarmActionInput,
  alarmActionForm,
  alarmNoteError,
  outcomes,
} from "./alarm-action-form";

const api = {
  take: alarmTakeBody,
  comment: alarmCommentBody,
  resolve: alarmResolveBody,
  cancel: alarmCancelBody,
};
const actions = fc.constantFrom<Action>("take", "comment", "resolve", "cancel");
const inputs: fc.Arbitrary<AlarmActionInput> = fc.record({
  note: fc.oneof(
    fc.constantFrom("", "   ", "Besøkt, alt i orden."),
    fc.string({ maxLength: 40 }),
    fc.string({ minLength: 3995, maxLength: 4010 }),
  ),
  outcome: fc.constantFrom(...outcomes),
});

describe("the alarm panel's action form", () => {
  it("refuses for each action what its API body refuses (an empty note is none), on the note, in both languages", () => {
    fc.assert(
      fc.property(actions, inputs, (action, input) => {
        const r = alarmActionForm(action).safeParse(input);
        const note = input.note.trim() ? input.note : undefined;
        expect(r.success).toBe(api[action].safeParse({ note, outcome: input.outcome }).success);
        if (r.success) {
          expect(r.data.action).toBe(action);
          return;
        }
        for (const issue of r.error.issues) expect(issue.path).toEqual(["note"]);
        const key = alarmNoteError(action, input.note);
        expect(dictionaries.en[key]).toBeTruthy();
        expect(dictionaries.nb[key]).toBeTruthy();
      }),
    );
  });

  it("sends no note for a take or cancel without one, and the outcome only with a resolve", () => {
    expect(alarmActionForm("take").parse({ note: " ", outcome: "other" })).toEqual({
      action: "take",
      body: {},
    });
    expect(alarmActionForm("cancel").parse({ note: "", outcome: "other" })).toEqual({
      action: "cancel",
      body: {},
    });
    expect(alarmActionForm("resolve").parse({ note: " Ok ", outcome: "other" })).toEqual({
      action: "resolve",
      body: { outcome: "other", note: "Ok" },
    });
    expect(alarmActionForm("comment").safeParse({ note: "", outcome: "other" }).success).toBe(false);
  });
});
