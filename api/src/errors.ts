import type { Problem } from "@vakt/schemas";
import type { z } from "zod";

/** Every way a request can fail, each with one HTTP status. */
export const errorCodes = {
  bad_request: 400,
  validation_failed: 400,
  reason_required: 400,
  unauthenticated: 401,
  second_factor_required: 401,
  csrf_failed: 403,
  forbidden: 403,
  sso_required: 403,
  not_found: 404,
  conflict: 409,
  department_closed: 409,
  gone: 410,
  payload_too_large: 413,
  too_many_requests: 429,
  internal: 500,
  unavailable: 503,
} as const;
export type ErrorCode = keyof typeof errorCodes;

const titles: Record<ErrorCode, string> = {
  bad_request: "Bad request",
  validation_failed: "The request is not valid",
  reason_required: "A reason is required for this look-up",
  unauthenticated: "Not logged in",
  second_factor_required: "Second factor required",
  csrf_failed: "Missing or wrong CSRF token",
  forbidden: "Not allowed",
  sso_required: "Log in with single sign-on",
  not_found: "Not found",
  conflict: "Conflict",
  department_closed: "The department is closed",
  gone: "Expired or already used",
  payload_too_large: "Request body too large",
  too_many_requests: "Too many attempts",
  internal: "Internal error",
  unavailable: "Service unavailable",
};

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly extra: {
      errors?: Problem["errors"];
      retryAfterSeconds?: number;
      /** Extension members of the problem document (RFC 9457 §3.2), e.g. who holds an alarm. */
      members?: Record<string, unknown>;
    } = {},
  ) {
    super(detail ?? titles[code]);
    this.name = "ApiError";
    this.status = errorCodes[code];
  }

  static validation(error: z.ZodError): ApiError {
    return new ApiError("validation_failed", "One or more fields are not valid.", {
      errors: error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    });
  }

  problem(requestId: string, instance?: string): Problem {
    return {
      type: `https://vakt.dev/problems/${this.code.replaceAll("_", "-")}`,
      title: titles[this.code],
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      requestId,
      ...(this.extra.errors ? { errors: this.extra.errors } : {}),
      ...this.extra.members,
    };
  }
}

/**
 * numeric_value_out_of_range, invalid_datetime_format, datetime_field_overflow,
 * character_not_in_repertoire, untranslatable_character, string_data_right_truncation.
 */
const OUT_OF_RANGE = new Set(["22003", "22007", "22008", "22021", "22P05", "22001"]);

export const isOutOfRange = (err: unknown): boolean => {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && OUT_OF_RANGE.has(code);
};

/** PostgreSQL errors that are the caller's fault, mapped to problems. */
export function fromDatabaseError(err: unknown): ApiError | undefined {
  const code = (err as { code?: unknown })?.code;
  if (code === "23505") return new ApiError("conflict", "Something with that value already exists.");
  if (code === "23503")
    return new ApiError("conflict", "A referenced row does not exist or is still in use.");
  if (code === "23514") return new ApiError("validation_failed", "A value is outside what is allowed.");
  // Raised by the database's guard (migration 0281) for anything put into a closed department.
  if (code === "VK001")
    return new ApiError("department_closed", "Nothing new can be put into a closed department.");
  if (code === "22P02") return new ApiError("validation_failed", "A value has the wrong form.");
  // A value that passed its schema but is outside what PostgreSQL holds (a number past bigint, a
  // year 0, text it cannot encode): the schemas refuse those they know of (schemas' instant,
  // bigintCursor); this keeps the one they missed a 400 rather than a 500.
  if (isOutOfRange(err)) return new ApiError("validation_failed", "A value is outside what can be stored.");
  return undefined;
}
