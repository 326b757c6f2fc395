import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type RoleKey, roleKey, type StaffUser, staffUser, staffUserCreated } from "@vakt/schemas";
import { useState } from "react";
import type { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { can, useSession, useUi } from "../session/context";
import { DepartmentSelect } from "./DepartmentsAdmin";
import { errorText, useDepartments, useStaffUsers } from "./queries";

/** Staff users with their roles and grants; inviting one shows the invitation token once. */
export function UsersAdmin() {
  const { t, dateTime } = useUi();
  const session = useSession();
  const client = useQueryClient();
  const users = useStaffUsers();
  const depts = useDepartments();
  const deptName = (id: string | null) =>
    id === null ? t("role.wholeOrganisation") : (depts.data?.find((d) => d.id === id)?.name ?? id);
  const [form, setForm] = useState({
    email: "",
    firstName: "",
    lastName: "",
    role: "operator" as RoleKey,
    departmentId: "",
  });
  const [invited, setInvited] = useState<z.infer<typeof staffUserCreated> | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const inviteUser = useMutation({
    mutationFn: () =>
      data(
        api.POST("/api/v1/users", {
          body: {
            email: form.email,
            firstName: form.firstName,
            lastName: form.lastName,
            grants: [{ role: form.role, departmentId: form.departmentId || null }],
          },
        }),
        staffUserCreated,
      ),
    onSuccess: (r) => {
      setInvited(r);
      return client.invalidateQueries({ queryKey: queryKeys.users });
    },
    onError: (err) => setMessage(errorText(err)),
  });
  const change = useChangeUser(setMessage);
  const invite = (e: React.FormEvent) => {
    e.preventDefault();
    inviteUser.mutate();
  };
  // Staff phones (the SMS channel's numbers): E.164 or Norwegian, checked by the API; empty removes it.
  const setPhone = (u: StaffUser, value: string) => {
    const phone = value.trim() ? value.trim() : null;
    if (phone === u.phone) return;
    change.mutate({ id: u.id, body: { phone } });
  };
  const setStatus = (u: StaffUser, status: "active" | "disabled") =>
    change.mutate({ id: u.id, body: { status } });

  return (
    <>
      {users.error && <p className="error">{errorText(users.error)}</p>}
      <table>
        <thead>
          <tr>
            <th>{t("common.name")}</th>
            <th>{t("users.email")}</th>
            <th>{t("users.phone")}</th>
            <th>{t("users.grants")}</th>
            <th>{t("users.secondFactor")}</th>
            <th>{t("users.lastLogin")}</th>
            <th>{t("users.status")}</th>
          </tr>
        </thead>
        <tbody>
          {(users.data ?? []).map((u) => (
            <tr key={u.id}>
              <td>
                {u.firstName} {u.lastName}
              </td>
              <td>{u.email}</td>
              <td data-testid="user-phone" data-needs-correction={u.phoneNeedsCorrection || undefined}>
                {can(session, "user:manage") ? (
                  <input
                    key={u.phone ?? ""}
                    type="tel"
                    maxLength={32}
                    aria-label={`${t("users.phone")}: ${u.email}`}
                    aria-invalid={u.phoneNeedsCorrection || undefined}
                    aria-describedby={u.phoneNeedsCorrection ? `phone-fix-${u.id}` : undefined}
                    defaultValue={u.phone ?? ""}
                    onBlur={(e) => setPhone(u, e.target.value)}
                  />
                ) : (
                  (u.phone ?? "–")
                )}
                {u.phoneNeedsCorrection && (
                  <p className="error" id={`phone-fix-${u.id}`}>
                    {t("users.phoneNeedsCorrection")}
                  </p>
                )}
                {/* A readable legacy number is normalised only when the administrator saves it. */}
                {u.phoneNeedsCorrection && u.phoneSuggestion && can(session, "user:manage") && (
                  <button type="button" onClick={() => setPhone(u, u.phoneSuggestion ?? "")}>
                    {t("users.usePhoneSuggestion", { phone: u.phoneSuggestion })}
                  </button>
                )}
              </td>
              <td>
                {u.grants.map((g) => (
                  <div key={`${g.role}-${g.departmentId}`}>
                    {t(`role.${g.role}`)}: {deptName(g.departmentId)}
                  </div>
                ))}
              </td>
              <td>{u.secondFactorEnabled ? t("common.yes") : t("common.no")}</td>
              <td>{u.lastLoginAt ? dateTime(u.lastLoginAt) : "–"}</td>
              <td>
                {can(session, "user:manage") && u.id !== session.me.user.id ? (
                  <select
                    aria-label={`${t("users.status")}: ${u.email}`}
                    value={u.status}
                    onChange={(e) => setStatus(u, e.target.value === "disabled" ? "disabled" : "active")}
                  >
                    <option value="active">{t("enum.userStatus.active")}</option>
                    <option value="disabled">{t("enum.userStatus.disabled")}</option>
                  </select>
                ) : (
                  t(`enum.userStatus.${u.status}`)
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {can(session, "user:manage") && (
        <form className="card form-row" onSubmit={invite}>
          {(["email", "firstName", "lastName"] as const).map((f) => (
            <label key={f}>
              {t(`users.${f}`)}
              <input
                name={f}
                type={f === "email" ? "email" : "text"}
                required
                value={form[f]}
                onChange={(e) => setForm({ ...form, [f]: e.target.value })}
              />
            </label>
          ))}
          <label>
            {t("users.role")}
            <select
              value={form.role}
              onChange={(e) => setForm({ ...form, role: roleKey.parse(e.target.value) })}
            >
              {roleKey.options.map((r) => (
                <option key={r} value={r}>
                  {t(`role.${r}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("common.department")}
            <DepartmentSelect
              departments={depts.data ?? []}
              value={form.departmentId}
              onChange={(departmentId) => setForm({ ...form, departmentId })}
              allowRoot={t("role.wholeOrganisation")}
            />
          </label>
          <button type="submit" className="primary">
            {t("users.invite")}
          </button>
        </form>
      )}
      {invited && (
        <div className="card" role="status">
          <p>
            {t("users.invitationLink", { when: dateTime(invited.invitationExpiresAt) })} —{" "}
            {t("common.shownOnce")}
          </p>
          <p className="secret">{invited.invitationToken}</p>
        </div>
      )}
      {message && <p role="status">{message}</p>}
    </>
  );
}

/** A change of one staff user (phone or status); a failure is said through `onMessage`, success clears it. */
function useChangeUser(onMessage: (text: string | null) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: { id: string; body: { phone?: string | null; status?: "active" | "disabled" } }) =>
      data(api.PATCH("/api/v1/users/{id}", { params: { path: { id: v.id } }, body: v.body }), staffUser),
    onSuccess: () => {
      onMessage(null);
      return client.invalidateQueries({ queryKey: queryKeys.users });
    },
    onError: (err) => onMessage(errorText(err)),
  });
}
