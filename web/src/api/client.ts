/**
 * The one API client: same-origin fetch with the session cookie, the CSRF token
 * echoed on every change, every response parsed with the shared zod schemas and
 * every error turned into an ApiProblem. A 401 tells the app the session is gone.
 */
import { problem } from "@vakt/schemas";
import type { z } from "zod";

export const CSRF_COOKIE = "vakt_csrf";
export const CSRF_HEADER = "x-csrf-token";

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
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

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

async function request(method: string, path: string, body?: unknown, quiet401 = false): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") {
    const token = currentCsrfToken();
    if (token) headers[CSRF_HEADER] = token;
  }
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw await problemOf(res, quiet401);
  return res;
}

/** The ApiProblem of a failed response (read from its problem document); a 401 tells the app, unless quiet. */
export async function problemOf(res: Response, quiet401 = false): Promise<ApiProblem> {
  let parsed: unknown = null;
  try {
    parsed = await res.json();
  } catch {
    parsed = null;
  }
  const p = problem.safeParse(parsed);
  const code = p.success ? (p.data.type.split("/").pop() ?? "error") : "error";
  const message = p.success ? (p.data.detail ?? p.data.title) : `${res.status} ${res.statusText}`;
  if (res.status === 401 && !quiet401) for (const l of unauthenticatedListeners) l();
  return new ApiProblem(res.status, code, message, parsed);
}

export async function get<S extends z.ZodType>(path: string, schema: S, query?: Query): Promise<z.infer<S>> {
  const res = await request("GET", withQuery(path, query));
  return schema.parse(await res.json());
}

/** GET that does not announce a 401 (used to ask whether a session exists at all). */
export async function probe<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  const res = await request("GET", path, undefined, true);
  return schema.parse(await res.json());
}

export async function send<S extends z.ZodType>(
  method: "POST" | "PUT" | "PATCH" | "DELETE",
  path: string,
  body: unknown,
  schema: S,
): Promise<z.infer<S>> {
  const res = await request(method, path, body);
  if (res.status === 204) return schema.parse(undefined);
  return schema.parse(await res.json());
}

/** Same-origin URL of a download (CSV export); the browser sends the cookie. */
export function downloadUrl(path: string, query?: Query): string {
  return withQuery(`/api/v1${path}`, query);
}

/** GET of a file (an export) as a Blob, with the same errors as every other call. */
export async function getBlob(path: string, query?: Query): Promise<Blob> {
  const res = await request("GET", withQuery(path, query));
  return res.blob();
}
