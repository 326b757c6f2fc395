/**
 * The login path's forms, checked by the shared schemas themselves (so a form refuses exactly what
 * the API would). Like answers.ts this module carries zod and is never imported statically by the
 * pages: laterResolver(name) fetches it when a form is first sent.
 */
import { loginRequest, password, passwordResetRequest, secondFactorRequest } from "@vakt/schemas";
import { z } from "zod";

/** E-mail and password: the login body. */
export const passwordStep = loginRequest;

/** The authenticator's six digits, with the spaces a paste may bring left off. */
export const codeStep = z.object({ code: z.string().trim().pipe(secondFactorRequest.shape.code) });

/** A new password (the shared rule) typed twice the same. */
export const newPassword = z
  .object({ password, repeat: z.string() })
  .refine((f) => f.password === f.repeat, { path: ["repeat"], message: "mismatch" });

/** The address a reset link is sent to: the reset request's body. */
export const forgotPassword = passwordResetRequest;
