import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type StaffUser, staffUser } from "@vakt/schemas";
import { useState } from "react";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { can, useSession, useUi } from "../session/context";
import { departmentName } from "./DepartmentsAdmin";
import { InviteUser } from "./InviteUser";
import { errorText, useDepartments, useStaffUsers } from "./queries";
import { UserRow } from "./UserRow";

/** Staff users with their roles and grants; inviting one shows the invitation token once. */
export function UsersAdmin() {
  const { t } = useUi();
  const session = useSession();
  const users = useStaffUsers();
  const depts = useDepartments();
  // A grant in a closed department is still shown, marked closed (it is not offered for new ones).
  const deptName = (id: string | null) =>
    id === null
      ? t("role.wholeOrganisation")
      : departmentName(
          depts.data?.find((d) => d.id === id),
          t("dept.closed"),
        ) || id;
  const [message, setMessage] = useState<string | null>(null);
  const change = useChangeUser(setMessage);
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
            <UserRow key={u.id} u={u} deptName={deptName} setPhone={setPhone} setStatus={setStatus} />
          ))}
        </tbody>
      </table>
      {can(session, "user:manage") && <InviteUser departments={depts.data ?? []} onMessage={setMessage} />}
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
