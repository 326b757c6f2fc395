/**
 * The schemas of the answers the login path reads (the boot's "who am I", login, second factor,
 * single sign-on discovery, setting a password, logout). App and the login pages never import this
 * statically: `later(name)` fetches it (with zod) once an answer has arrived, so the login page's
 * own JavaScript has no zod in it (src/login-size.test.ts). The shell needs the same chunk next.
 */
import { loginResponse, logoutResponse } from "@vakt/schemas";
import { z } from "zod";

export {
  loginResponse,
  meResponse,
  organisation,
  password,
  ssoDiscoveryResponse,
  totpSetupResponse,
} from "@vakt/schemas";

/** Enabling the authenticator app during login answers with the session it completes. */
export const totpEnabled = z.object({ enabled: z.literal(true), session: loginResponse.nullable() });

/** Logout answers 204 (before single sign-on) or `{ providerLogoutUrl }`. */
export const logoutAnswer = z.union([z.undefined(), logoutResponse]);

/** An answer whose body nobody reads (204, or 202 to a reset request). */
export const anyAnswer = z.unknown();
