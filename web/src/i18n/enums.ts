/**
 * Codes the API sends (activity actions, dead-letter reasons) in words. Their
 * lists grow on the server; a code this console does not know yet is shown as
 * "Other action (code)" in the language rather than as a bare code.
 */
import { hasMessage, type MessageKey } from "./messages";

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

function coded(t: T, prefix: "enum.action" | "enum.deadLetter" | "enum.messageKind", code: string): string {
  const key = `${prefix}.${code}`;
  return hasMessage(key) && !key.endsWith(".other") ? t(key) : t(`${prefix}.other`, { code });
}

export const actionText = (t: T, code: string) => coded(t, "enum.action", code);
export function subjectText(t: T, subject: string): string {
  const key = `enum.subject.${subject}`;
  return hasMessage(key) ? t(key) : t("enum.subject.other", { code: subject });
}
export const deadLetterReasonText = (t: T, code: string) => coded(t, "enum.deadLetter", code);
/** What a message of the transactions log is (uplink kinds from ingest, downlink kinds from the senders). */
export const messageKindText = (t: T, code: string) => coded(t, "enum.messageKind", code);
