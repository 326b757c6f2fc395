/**
 * PostgreSQL text cannot hold U+0000. A NUL in a query value, a path segment
 * or a JSON string would reach a statement and fail there as a 500 (or, in a
 * group-committed log row, fail that row); refused here, at the edge, it is a
 * 400 that names the field and changes nothing, for every route at once.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors";

/** `%00` anywhere in the path or query string (any case). */
const ENCODED_NUL = /%00/i;
/** A JSON `\u0000` escape that is not itself escaped (an odd number of backslashes before the `u`). */
const JSON_NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/i;

function refuse(where: string) {
  return new ApiError("validation_failed", "Text may not contain the NUL character (U+0000).", {
    errors: [{ path: where, message: "contains the NUL character" }],
  });
}

export const refuseUnstorableText: MiddlewareHandler = async (c, next) => {
  const url = c.req.url;
  const queryAt = url.indexOf("?");
  if (ENCODED_NUL.test(url))
    throw refuse(queryAt >= 0 && ENCODED_NUL.test(url.slice(queryAt)) ? "query" : "path");
  if (c.req.method !== "GET" && c.req.method !== "HEAD" && /json/i.test(c.req.header("content-type") ?? "")) {
    // Hono keeps the text, so the route's validator parses the same body without reading it again.
    const body = await c.req.text();
    if (body.includes("\u0000") || JSON_NUL_ESCAPE.test(body)) throw refuse("body");
  }
  return next();
};
