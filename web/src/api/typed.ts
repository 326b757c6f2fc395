/**
 * The typed API client: openapi-fetch over the types generated from the API's OpenAPI document
 * (`@vakt/api/openapi`), so a call's path, parameters and request body are checked at compile
 * time. It behaves like client.ts (same-origin cookie, CSRF header on changes, failures thrown as
 * ApiProblem), and `data` still parses every answer with the shared zod schema at run time.
 * The login page uses it too, so zod is imported here for its types only.
 */
import type { paths } from "@vakt/api/openapi";
import createClient, { type Middleware } from "openapi-fetch";
import type { z } from "zod";
import { ApiProblem, CSRF_HEADER, currentCsrfToken, problemOf, schemaIssues } from "./client";

const sameOriginSession: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD") {
      const token = currentCsrfToken();
      if (token) request.headers.set(CSRF_HEADER, token);
    }
    return request;
  },
  async onResponse({ response }) {
    if (!response.ok) throw await problemOf(response.clone());
  },
  // The browser's own text ("Failed to fetch") is English and says nothing to a care worker.
  onError({ error }) {
    if (error instanceof ApiProblem) return error;
    return new ApiProblem(0, "network", error instanceof Error ? error.message : String(error), null);
  },
};

/**
 * For a call that asks whether a session exists at all (`{ middleware: [quiet401] }`): its 401 is an
 * answer, not a lost session, so the app is not told. A call's own middleware sees the response first.
 */
export const quiet401: Middleware = {
  async onResponse({ response }) {
    if (!response.ok) throw await problemOf(response.clone(), true);
  },
};

/** A client for the API at `baseUrl` (the console's own origin by default). */
export function createApiClient(baseUrl = "") {
  const client = createClient<paths>({
    baseUrl,
    credentials: "same-origin",
    headers: { accept: "application/json" },
  });
  client.use(sameOriginSession);
  return client;
}

export const api = createApiClient();

/**
 * The body of a successful answer, checked against the shared schema. The schema may come as a
 * loader (`() => import(…)`): the login page's answers are parsed by schemas fetched only once an
 * answer has arrived, so the page itself carries no zod.
 */
export async function data<S extends z.ZodType>(
  answer: Promise<{ data?: unknown }>,
  schema: S | (() => Promise<S>),
): Promise<z.infer<S>> {
  let body: unknown;
  try {
    body = (await answer).data;
  } catch (err) {
    // A success whose body is not JSON: a problem, like any answer that does not fit.
    if (err instanceof ApiProblem) throw err;
    throw new ApiProblem(200, "unexpected", String(err), null);
  }
  const r = (typeof schema === "function" ? await schema() : schema).safeParse(body);
  if (!r.success) throw new ApiProblem(200, "unexpected", schemaIssues(r.error), body);
  return r.data;
}

type Paths = keyof paths & string;
type GetPath = { [P in Paths]: paths[P] extends { get: { parameters: unknown } } ? P : never }[Paths];
type GetParams<P extends GetPath> = paths[P] extends { get: { parameters: infer R } } ? R : never;
type HrefParams<P extends GetPath> = Pick<GetParams<P>, "path" & keyof GetParams<P>> &
  Pick<GetParams<P>, "query" & keyof GetParams<P>>;

/**
 * Same-origin URL of a download (a CSV export) for an `<a href download>`. The browser fetches it
 * with the cookie itself, so no request is made here, and openapi-fetch only sends requests (it
 * has no way to build a URL); this keeps the path, its `{parameters}` and the query checked
 * against the document all the same. Parameters are encoded as openapi-fetch encodes them.
 */
export function downloadHref<P extends GetPath>(path: P, params: HrefParams<P>): string {
  const { path: inPath, query } = params as {
    path?: Record<string, unknown>;
    query?: Record<string, unknown>;
  };
  const filled = path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(String(inPath?.[name])),
  );
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {}))
    if (v !== undefined && v !== null) search.set(k, String(v));
  const s = search.toString();
  return s ? `${filled}?${s}` : filled;
}
