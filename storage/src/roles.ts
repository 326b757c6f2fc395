import type { Queryable } from "./pool";

/** The NOLOGIN group role that holds the application's privileges (migration 0111). */
export const APP_ROLE = "vakt_app";

export interface RuntimeRoleResult {
  role: string;
  created: boolean;
  /** Why nothing was done, when nothing was. */
  skipped?: string;
}

/**
 * Run as the owner after migrating: makes the login role of `runtimeUrl` (the
 * URL the processes connect with) a member of vakt_app, creating it with the
 * URL's password when it does not exist. Refuses a runtime role that is a
 * superuser or owns the tables. Skips, saying why, when the runtime role is the
 * owner itself or the owner may not create roles.
 */
export async function ensureRuntimeRole(owner: Queryable, runtimeUrl: string): Promise<RuntimeRoleResult> {
  const url = new URL(runtimeUrl);
  const role = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const me = (await owner.query<{ u: string }>("SELECT current_user AS u")).rows[0]?.u;
  if (!role || role === me) {
    return { role: role || (me ?? ""), created: false, skipped: "the runtime role is the migrating owner" };
  }
  const existing = (
    await owner.query<{ rolsuper: boolean }>("SELECT rolsuper FROM pg_roles WHERE rolname = $1", [role])
  ).rows[0];
  if (existing?.rolsuper)
    throw new Error(`runtime database role ${role} is a superuser; use an unprivileged role`);
  const owns = await owner.query(
    "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tableowner = $1 LIMIT 1",
    [role],
  );
  if (owns.rowCount) throw new Error(`runtime database role ${role} owns tables; it must not`);
  let created = false;
  const run = async (template: string, args: string[]) => {
    const sql = (
      await owner.query<{ s: string }>(`SELECT format('${template}', $1::text, $2::text) AS s`, args)
    ).rows[0]?.s as string;
    await owner.query(sql);
  };
  try {
    if (!existing) {
      try {
        await run("CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT", [
          role,
          password,
        ]);
        created = true;
      } catch (err) {
        // Made concurrently by another starting process: carry on to the grant.
        const code = (err as { code?: string }).code;
        if (code !== "42710" && code !== "23505") throw err;
      }
    }
    await run("GRANT %I TO %I", [APP_ROLE, role]);
  } catch (err) {
    if ((err as { code?: string }).code === "42501") {
      return { role, created, skipped: `not allowed: ${(err as Error).message}` };
    }
    throw err;
  }
  return { role, created };
}
