/**
 * Refuses common, breached-list and easily guessed passwords (besides the
 * length rule in the schema), with zxcvbn-ts and its common dictionaries
 * (passwords from public breach lists, names, words), scored 0-4.
 */
import { zxcvbn, zxcvbnOptions } from "@zxcvbn-ts/core";
import * as common from "@zxcvbn-ts/language-common";
import { ApiError } from "../errors";

zxcvbnOptions.setOptions({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs });

/** zxcvbn's score 3: "safely unguessable" for online attacks is what login lockout leaves. */
export const MIN_PASSWORD_SCORE = 3;

export function checkPasswordStrength(password: string, userInputs: string[] = []): void {
  const result = zxcvbn(password, userInputs);
  if (result.score < MIN_PASSWORD_SCORE) {
    throw new ApiError(
      "validation_failed",
      "This password is too easy to guess: choose a longer phrase of unrelated words.",
      {
        errors: [{ path: "password", message: "too easy to guess (common or breached password or pattern)" }],
      },
    );
  }
}
