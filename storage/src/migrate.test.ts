import { describe, expect, it } from "vitest";
import { decideTimescaleDb, preloadsTimescaleDb, type TimescaleDbProbe } from "./migrate";

const server15 =
  "PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc 12.2.0, 64-bit";
const pglite =
  "PostgreSQL 17.5 on aarch64-unknown-linux-gnu, compiled by emcc (Emscripten gcc/clang-like replacement) 3.1.74, 32-bit";

const offered: TimescaleDbProbe = {
  forcedOff: false,
  available: true,
  installed: false,
  sharedPreloadLibraries: "",
  loaderPresent: false,
  serverVersion: server15,
};

describe("the migration runner's TimescaleDB decision", () => {
  it("reads shared_preload_libraries however the entry is written", () => {
    for (const v of [
      "timescaledb",
      "pg_stat_statements, timescaledb",
      '"timescaledb"',
      "$libdir/timescaledb.so",
    ]) {
      expect(preloadsTimescaleDb(v), v).toBe(true);
    }
    for (const v of ["", "pg_stat_statements", "timescaledb_toolkit", "not_timescaledb"]) {
      expect(preloadsTimescaleDb(v), v).toBe(false);
    }
  });

  it("does not let 0001 create the extension where it is offered but not preloaded", () => {
    expect(decideTimescaleDb(offered)).toBe("not-preloaded");
    // A role that may not read shared_preload_libraries, on a server without the loader.
    expect(decideTimescaleDb({ ...offered, sharedPreloadLibraries: null })).toBe("not-preloaded");
  });

  it("lets 0001 create it where it is preloaded, the loader is present, or on PGlite", () => {
    expect(decideTimescaleDb({ ...offered, sharedPreloadLibraries: "timescaledb" })).toBe("preloaded");
    expect(decideTimescaleDb({ ...offered, sharedPreloadLibraries: null, loaderPresent: true })).toBe(
      "preloaded",
    );
    expect(decideTimescaleDb({ ...offered, serverVersion: pglite })).toBe("preloaded");
  });

  it("has nothing to decide when forced off, not offered or already installed", () => {
    expect(decideTimescaleDb({ ...offered, forcedOff: true, sharedPreloadLibraries: "timescaledb" })).toBe(
      "off",
    );
    expect(decideTimescaleDb({ ...offered, available: false })).toBe("absent");
    expect(decideTimescaleDb({ ...offered, installed: true })).toBe("installed");
  });
});
