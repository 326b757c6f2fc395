/**
 * Which storage errors a retry can fix. A batch that fails for its data is
 * split until the messages to blame are isolated (they become dead letters
 * with the database's reason); one that fails because the database is away
 * is retried with backoff, unacknowledged, for as long as it takes.
 */

/** SQLSTATE classes and codes a retry can fix: the database or the connection, not the data. */
const TRANSIENT_CLASSES = new Set([
  "08", // connection exception
  "40", // serialization failure, deadlock
  "53", // insufficient resources: disk full, out of memory, too many connections
  "57", // operator intervention: shutdown, cancelled, cannot connect now
  "58", // system error: I/O
  "42", // a schema or privilege problem: a deploy to fix, not a message to blame; shown by health
]);
const TRANSIENT_CODES = new Set(["55P03", "55006", "55000", "25006", "0L000", "28000", "28P01"]);

export type StorageErrorKind = "transient" | "data";

/**
 * The SQLSTATE of an error the database sent. Node's own errors carry a `code` too, and some have
 * five letters (EPIPE: the connection is gone): those name a system call and are not the database's.
 */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; syscall?: unknown } | null;
  if (typeof e?.syscall === "string") return undefined;
  const code = e?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * "data" for what the database refuses in the rows (class 22 data exception,
 * 23 integrity, 54 program limit such as nesting too deep, XX internal errors
 * that content triggers, and anything else not listed as transient), and for
 * ingest's own TypeError or RangeError on a row; "transient" for the database
 * being unavailable or another error with no SQLSTATE (a lost connection, a
 * timeout).
 */
export function storageErrorKind(err: unknown): StorageErrorKind {
  const code = sqlState(err);
  // A TypeError or RangeError is ingest's own code failing on what a message holds (a value it
  // cannot encode): retrying repeats it, and the lane would wait on it forever.
  if (code === undefined) return err instanceof TypeError || err instanceof RangeError ? "data" : "transient";
  if (TRANSIENT_CLASSES.has(code.slice(0, 2)) || TRANSIENT_CODES.has(code)) return "transient";
  return "data";
}

/** Kept for callers that only ask "is this the data's fault". */
export function isDataError(err: unknown): boolean {
  return storageErrorKind(err) === "data";
}

/** A reason's detail from an error: message and SQLSTATE, never a stack. */
export function errorDetail(err: unknown): string {
  const code = sqlState(err);
  const message = err instanceof Error ? err.message : String(err);
  return code ? `${code}: ${message}` : message;
}
