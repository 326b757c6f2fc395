/**
 * The console's problem handling and session token: every error of the API turned into an
 * ApiProblem (its code rendered through the dictionary, never the server's English detail), the
 * CSRF token echoed on every change, and a 401 telling the app the session is gone. Screens call the
 * API through typed.ts (paths, parameters and bodies checked at compile time, answers parsed with
 * the shared zod schemas), which uses these parts. It is part of the login page, so it imports zod
 * and @vakt/schemas for their types only (src/login-size.test.ts).
 */
import type { Problem } from "@vakt/schemas";
import type { z } from "zod";
import { hasMessage, translate } from "../i18n/messages";

export const CSRF_COOKIE = "vakt_csrf";
export const CSRF_HEADER = "x-csrf-token";

/**
 * A failed call. Its message is the dictionary's text for the problem's `code`
 * in the console's language: a server `detail` is English and written for
 * developers, so it is kept (as `detail`, for logs and tests) but never shown.
 */
export class ApiProblem extends Error {
  readonly detail: string;
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly body: unknown,
  ) {
    super(problemText(code, status));
    this.detail = detail;
  }
}

/** "not-found" (the last segment of the problem type) → "problem.not_found". */
export const problemKey = (code: string) => `problem.${code.replaceAll("-", "_")}`;

/** The console's language, as the app set it on <html lang> (errors are made outside React). */
const currentLang = () => (globalThis.document?.documentElement.lang === "en" ? "en" : "nb");

export function problemText(code: string, status: number, lang: "nb" | "en" = currentLang()): string {
  const key = problemKey(code);
  return hasMessage(key)
    ? translate(lang, key, { status })
    : translate(lang, "problem.unexpected", { status });
}

type Listener = () => void;
const unauthenticatedListeners = new Set<Listener>();

/** Called when an authenticated request answers 401 (session expired or revoked). */
export function onUnauthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

let csrfToken: string | null = null;

/** The CSRF token from the login response, or from its cookie after a reload. */
export function setCsrfToken(token: string | null) {
  csrfToken = token;
}

export function currentCsrfToken(): string | null {
  if (csrfToken) return csrfToken;
  const m = new RegExp(`(?:^|; )${CSRF_COOKIE}=([^;]*)`).exec(document.cookie);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

/**
 * The parts of an RFC 9457 problem document the console reads (its `type`, `title` and `detail`),
 * checked by hand: this runs on the login page, which carries no zod.
 */
function problemDocument(body: unknown): Pick<Problem, "type" | "title" | "detail"> | null {
  if (typeof body !== "object" || body === null) return null;
  const { type, title, detail } = body as Record<string, unknown>;
  if (typeof type !== "string" || typeof title !== "string") return null;
  if (detail !== undefined && typeof detail !== "string") return null;
  return { type, title, detail };
}

/** What a schema refused, for an ApiProblem's detail (for logs and tests, never shown). */
export function schemaIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(answer)"}: ${i.message}`).join("; ");
}

/** The ApiProblem of a failed response (read from its problem document); a 401 tells the app, unless quiet. */
export async function problemOf(res: Response, quiet401 = false): Promise<ApiProblem> {
  let parsed: unknown = null;
  try {
    parsed = await res.json();
  } catch {
    parsed = null;
  }
  const p = problemDocument(parsed);
  const code = p ? (p.type.split("/").pop() ?? "error") : "error";
  const message = p ? (p.detail ?? p.title) : `${res.status} ${res.statusText}`;
  if (res.status === 401 && !quiet401) for (const l of unauthenticatedListeners) l();
  return new ApiProblem(res.status, code, message, parsed);
}
