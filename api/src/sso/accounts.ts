/**
 * Who the provider's person is in Vakt, at a single sign-on callback: the user linked to the
 * provider's subject, else the user with the verified e-mail (then linked), else a new user when
 * the provider creates users; and their grants from the group claim when the provider has rules.
 * Both run inside the transaction that opens the session.
 */
import type { RoleKey, SsoErrorCode } from "@vakt/schemas";
import type { Queryable } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import { type Claims, names, type ProviderRow } from "./relying-party";

export interface MatchedUser {
  id: string;
  organisation_id: string;
  status: string;
  access_ended_at: Date | null;
}

/** A refusal, with the detail the failure log records and the user it concerns when known. */
export interface Refusal {
  ok: false;
  error: SsoErrorCode;
  detail: string;
  userId: string | null;
}

export const refuse = (error: SsoErrorCode, detail: string, userId: string | null = null): Refusal => ({
  ok: false,
  error,
  detail,
  userId,
});

export type AppliedGrants = { role: RoleKey; departmentId: string | null }[] | "manual";

/** 1. The link from an earlier login; 2. the verified e-mail; 3. a new user. */
export async function matchUser(
  tx: Queryable,
  provider: ProviderRow,
  claims: Claims & { email: string },
  system: Caller,
  now: Date,
): Promise<{ user: MatchedUser; created: boolean } | Refusal> {
  const org = provider.organisation_id;
  const linkedUser = (
    await tx.query<MatchedUser>(
      `SELECT u.id, u.organisation_id, u.status, u.access_ended_at FROM sso_identities i
         JOIN staff_users u ON u.organisation_id = i.organisation_id AND u.id = i.user_id
        WHERE i.provider_id = $1 AND i.subject = $2 FOR UPDATE OF u`,
      [provider.id, claims.sub],
    )
  ).rows[0];
  if (linkedUser) return { user: linkedUser, created: false };
  let user: MatchedUser;
  let created = false;
  const byEmail = (
    await tx.query<MatchedUser>(
      "SELECT id, organisation_id, status, access_ended_at FROM staff_users WHERE email = $1 FOR UPDATE",
      [claims.email],
    )
  ).rows[0];
  if (byEmail && byEmail.organisation_id !== org)
    return refuse("no_account", "the e-mail belongs to a user of another organisation");
  if (byEmail) {
    const linked = await tx.query("SELECT 1 FROM sso_identities WHERE provider_id = $1 AND user_id = $2", [
      provider.id,
      byEmail.id,
    ]);
    if (linked.rowCount)
      return refuse("no_account", "the user with this e-mail is linked to another subject", byEmail.id);
    user = byEmail;
  } else if (provider.create_users) {
    const [first, last] = names(claims);
    const ins = await tx.query<MatchedUser>(
      `INSERT INTO staff_users (organisation_id, email, first_name, last_name, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $5) RETURNING id, organisation_id, status, access_ended_at`,
      [org, claims.email, first, last, now],
    );
    user = ins.rows[0] as MatchedUser;
    created = true;
    await logActivity(tx, system, {
      action: "user.created_by_sso",
      subjectType: "staff_user",
      subjectId: user.id,
      details: { providerId: provider.id },
    });
  } else {
    return refuse("no_account", "no user with this e-mail and the provider does not create users");
  }
  await tx.query(
    `INSERT INTO sso_identities (organisation_id, provider_id, subject, user_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
    [org, provider.id, claims.sub, user.id, now],
  );
  return { user, created };
}

/** Grants from the group claim, when the provider has rules: exactly what the groups give. */
export async function applyGroupGrants(
  tx: Queryable,
  provider: ProviderRow,
  groups: readonly string[],
  userId: string,
  system: Caller,
): Promise<AppliedGrants | Refusal> {
  const org = provider.organisation_id;
  const rules = provider.mapping_rules;
  if (rules.length === 0) return "manual";
  const member = new Set(groups);
  const wanted = new Map<string, { role: RoleKey; departmentId: string | null }>();
  for (const r of rules)
    if (member.has(r.group))
      wanted.set(`${r.role}:${r.departmentId}`, { role: r.role, departmentId: r.departmentId });
  const current = (
    await tx.query<{ id: string; role: RoleKey; department_id: string | null }>(
      "SELECT id, role, department_id FROM role_grants WHERE organisation_id = $1 AND user_id = $2",
      [org, userId],
    )
  ).rows;
  const have = new Map(current.map((g) => [`${g.role}:${g.department_id}`, g]));
  const removed = current.filter((g) => !wanted.has(`${g.role}:${g.department_id}`));
  // A rule that maps to a department closed since gives nothing new there (migration 0281 would refuse
  // the grant, and with it the login); a grant the user already holds there stays.
  const closed = new Set(
    (
      await tx.query<{ id: string }>(
        "SELECT id FROM departments WHERE organisation_id = $1 AND closed_at IS NOT NULL",
        [org],
      )
    ).rows.map((d) => d.id),
  );
  const added = [...wanted.entries()]
    .filter(([k, g]) => !have.has(k) && (g.departmentId === null || !closed.has(g.departmentId)))
    .map(([, g]) => g);
  for (const g of removed) await tx.query("DELETE FROM role_grants WHERE id = $1", [g.id]);
  for (const g of added)
    await tx.query(
      "INSERT INTO role_grants (organisation_id, user_id, role, department_id) VALUES ($1, $2, $3, $4)",
      [org, userId, g.role, g.departmentId],
    );
  if (removed.length > 0 || added.length > 0) {
    // Fewer grants end the user's other sessions' extra access at once (role_grants triggers notify live sockets).
    await logActivity(tx, system, {
      action: "user.grants_changed_by_sso",
      subjectType: "staff_user",
      subjectId: userId,
      details: {
        providerId: provider.id,
        added,
        removed: removed.map((g) => ({ role: g.role, departmentId: g.department_id })),
      },
    });
  }
  const applied = [...wanted.values()];
  if (applied.length === 0)
    return refuse("no_access", "no mapping rule matches the user's groups; grants removed", userId);
  return applied;
}
