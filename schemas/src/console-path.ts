/**
 * Where the browser may be sent after login: a path within the console, never another site. Plain
 * (no zod), because the console's login page checks it too and carries no zod; api/sso.ts builds
 * the schema from the same rule.
 */

/** "/" then anything but a second slash or backslash, which browsers read as another host. */
export const CONSOLE_RETURN_PATH = /^\/([^/\\\s][^\s]*)?$/;
export const CONSOLE_RETURN_PATH_MAX = 2000;

export function isConsoleReturnPath(path: string): boolean {
  return path.length <= CONSOLE_RETURN_PATH_MAX && CONSOLE_RETURN_PATH.test(path);
}
