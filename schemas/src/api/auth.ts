import { z } from "zod";
import { permission } from "../vocabulary";

/** Passwords: long enough to resist guessing, short enough that hashing stays cheap. */
export const password = z.string().min(12, "at least 12 characters").max(256);
export const email = z.string().trim().toLowerCase().pipe(z.email().max(320));

export const loginRequest = z.object({ email, password: z.string().min(1).max(256) });
export type LoginRequest = z.infer<typeof loginRequest>;

export const sessionStage = z.enum(["active", "second_factor_required", "second_factor_enrolment_required"]);
export type SessionStage = z.infer<typeof sessionStage>;

export const loginResponse = z.object({
  stage: sessionStage,
  /** Send back in the X-CSRF-Token header on every change made with the session cookie. */
  csrfToken: z.string(),
  expiresAt: z.iso.datetime(),
});
export type LoginResponse = z.infer<typeof loginResponse>;

export const secondFactorRequest = z.object({ code: z.string().regex(/^[0-9]{6}$/, "six digits") });

export const totpSetupResponse = z.object({ secret: z.string(), otpauthUri: z.string() });
/** Turning one's own authenticator app off takes a current code from it (proof it is still theirs). */
export const totpDisableRequest = secondFactorRequest;
export const totpDisabled = z.object({ enabled: z.literal(false) });

/** One of the caller's own sessions, for "where am I logged in". Tokens and hashes are never shown. */
export const ownSession = z.object({
  id: z.uuid(),
  createdAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  /** The session this request came with. */
  current: z.boolean(),
  singleSignOn: z.boolean(),
  stage: sessionStage,
});
export type OwnSession = z.infer<typeof ownSession>;
export const otherSessionsEnded = z.object({ sessionsEnded: z.number().int().nonnegative() });

export const meResponse = z.object({
  user: z.object({
    id: z.uuid(),
    organisationId: z.uuid(),
    email: z.string(),
    firstName: z.string(),
    lastName: z.string(),
    secondFactorEnabled: z.boolean(),
  }),
  stage: sessionStage,
  grants: z.array(z.object({ role: z.string(), departmentId: z.uuid().nullable() })),
  permissions: z.array(permission),
});
export type MeResponse = z.infer<typeof meResponse>;

export const acceptInvitationRequest = z.object({ token: z.string().min(20).max(200), password });
export const passwordResetRequest = z.object({ email });
export const passwordResetConfirm = z.object({ token: z.string().min(20).max(200), password });
