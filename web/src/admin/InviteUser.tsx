import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type Department, type RoleKey, roleKey, staffUserCreated } from "@vakt/schemas";
import { useState } from "react";
import type { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { DepartmentSelect } from "./DepartmentsAdmin";
import { errorText } from "./queries";

/** Invites a staff user with one grant; the invitation token is shown once, below the form. */
export function InviteUser(props: { departments: Department[]; onMessage(text: string | null): void }) {
  const { t } = useUi();
  const client = useQueryClient();
  const [form, setForm] = useState({
    email: "",
    firstName: "",
    lastName: "",
    role: "operator" as RoleKey,
    departmentId: "",
  });
  const [invited, setInvited] = useState<z.infer<typeof staffUserCreated> | null>(null);
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
    onError: (err) => props.onMessage(errorText(err)),
  });
  const invite = (e: React.FormEvent) => {
    e.preventDefault();
    inviteUser.mutate();
  };
  return (
    <>
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
            departments={props.departments}
            value={form.departmentId}
            onChange={(departmentId) => setForm({ ...form, departmentId })}
            allowRoot={t("role.wholeOrganisation")}
          />
        </label>
        <button type="submit" className="primary">
          {t("users.invite")}
        </button>
      </form>
      {invited && <InvitationCard invited={invited} />}
    </>
  );
}

/** The invitation token, shown once: the new user sets a password with it. */
function InvitationCard({ invited }: { invited: z.infer<typeof staffUserCreated> }) {
  const { t, dateTime } = useUi();
  return (
    <div className="card" role="status">
      <p>
        {t("users.invitationLink", { when: dateTime(invited.invitationExpiresAt) })} — {t("common.shownOnce")}
      </p>
      <p className="secret">{invited.invitationToken}</p>
    </div>
  );
}
