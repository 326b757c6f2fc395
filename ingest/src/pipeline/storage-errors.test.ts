import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sqlState, storageErrorKind } from "./storage-errors";

/** An error as pg hands it over for a statement the database refused. */
const databaseError = (code: string) =>
  Object.assign(new Error(`database says ${code}`), { code, severity: "ERROR" });
/** An error as Node raises it for a socket (what a lost database connection looks like). */
const systemError = (code: string, syscall: string) =>
  Object.assign(new Error(`${syscall} ${code}`), { code, errno: -32, syscall });

describe("storageErrorKind", () => {
  it("blames the data for what the database refuses in rows, and retries the database being away", () => {
    const sqlstate = fc.stringMatching(/^[0-9A-Z]{5}$/);
    fc.assert(
      fc.property(sqlstate, (code) => {
        const kind = storageErrorKind(databaseError(code));
        const transient = ["08", "40", "53", "57", "58", "42"].includes(code.slice(0, 2));
        if (transient) expect(kind).toBe("transient");
        else if (["22", "23", "54", "XX"].includes(code.slice(0, 2))) expect(kind).toBe("data");
        expect(sqlState(databaseError(code))).toBe(code);
      }),
    );
  });

  it("never takes a system call's error for the database's, whatever its code spells", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom("EPIPE", "ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "EAGAIN"),
          fc.stringMatching(/^E[A-Z]{4}$/),
        ),
        fc.constantFrom("write", "read", "connect", "getaddrinfo"),
        (code, syscall) => {
          // EPIPE is five capitals, like a SQLSTATE: read as one, it was "data" and split a batch to dead letters.
          expect(sqlState(systemError(code, syscall))).toBeUndefined();
          expect(storageErrorKind(systemError(code, syscall))).toBe("transient");
        },
      ),
    );
    expect(storageErrorKind(new Error("Connection terminated unexpectedly"))).toBe("transient");
  });
});
