/**
 * The typed API client: openapi-fetch over the types generated from the API's OpenAPI document
 * (`@vakt/api/openapi`), so a call's path, parameters and request body are checked at compile
 * time. It behaves like client.ts (same-origin cookie, CSRF header on changes, failures thrown as
 * ApiProblem), and `data` still parses every answer with the shared zod schema at run time.
 */
import type { paths } from "@vakt/api/openapi";
import createClient, { type Middleware } from "openapi-fetch";
import type { z } from "zod";
import { CSRF_HEADER, currentCsrfToken, problemOf } from "./client";

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
};

/** A client for the API at `baseUrl` (the console's own origin by default). */
export function createApiClient(baseUrl = "") {
  const client = createClient<paths>({ baseUrl, credentials: "same-origin" });
  client.use(sameOriginSession);
  return client;
}

export const api = createApiClient();

/** The body of a successful answer, checked against the shared schema. */
export async function data<S extends z.ZodType>(
  answer: Promise<{ data?: unknown }>,
  schema: S,
): Promise<z.infer<S>> {
  return schema.parse((await answer).data);
}
