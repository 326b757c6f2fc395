import type { MessageKey } from "../i18n/dict";
import type { useUi } from "../session/context";
import { errorText } from "./queries";
import { type DraftField, problemFields } from "./sso-form";

export const ssoLabels: Record<DraftField, MessageKey> = {
  displayName: "sso.displayName",
  issuer: "sso.issuer",
  clientId: "sso.clientId",
  clientSecret: "sso.clientSecret",
  scopes: "sso.scopes",
  emailClaim: "sso.emailClaim",
  groupsClaim: "sso.groupsClaim",
  emailDomains: "sso.emailDomains",
  createUsers: "sso.createUsers",
  requireVerifiedEmail: "sso.requireVerifiedEmail",
  enabled: "sso.enabled",
  mappingRules: "sso.rules",
};

/** An API problem with the fields it names (a 422 names each), in the form's words, never the server's. */
export function problemText(err: unknown, t: ReturnType<typeof useUi>["t"]): string {
  const names = problemFields(err).map((f) => t(ssoLabels[f]));
  return names.length ? `${errorText(err)} (${names.join(", ")})` : errorText(err);
}
