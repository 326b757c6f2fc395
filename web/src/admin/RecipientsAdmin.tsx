import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type Department, recipient } from "@vakt/schemas";
import { useState } from "react";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { can, useSession, useUi } from "../session/context";
import { Link } from "../ui/router";
import { DepartmentSelect } from "./DepartmentsAdmin";
import { errorText, useDepartments, useRecipients } from "./queries";

/** Recipients with a link to each one's page, and registration with the legal basis for tracking. */
export function RecipientsAdmin() {
  const { t } = useUi();
  const session = useSession();
  const list = useRecipients();
  const depts = useDepartments();
  const [message, setMessage] = useState<string | null>(null);
  const deptName = (id: string) => depts.data?.find((d) => d.id === id)?.name ?? "";
  return (
    <>
      {list.error && <p className="error">{errorText(list.error)}</p>}
      <table>
        <thead>
          <tr>
            <th>{t("common.name")}</th>
            <th>{t("common.department")}</th>
            <th>{t("recipient.legalBasis")}</th>
            <th>{t("recipient.status")}</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((r) => (
            <tr key={r.id}>
              <td>
                <Link to={`/recipients/${r.id}`}>
                  {r.firstName} {r.lastName}
                </Link>
              </td>
              <td>{deptName(r.departmentId)}</td>
              <td>{t(`legal.${r.legalBasis}`)}</td>
              <td>{t(`enum.recipientStatus.${r.status}`)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {can(session, "recipient:manage") && (
        <RegisterRecipientForm departments={depts.data ?? []} onMessage={setMessage} />
      )}
      {message && <p role="status">{message}</p>}
    </>
  );
}

/** Registers a recipient in a department, with the legal basis for tracking them. */
function RegisterRecipientForm(props: { departments: Department[]; onMessage(text: string): void }) {
  const { t } = useUi();
  const [form, setForm] = useState<RegisterForm>({
    firstName: "",
    lastName: "",
    departmentId: "",
    legalBasis: "consent",
    legalBasisReference: "",
    responderNotes: "",
  });
  const register = useRegisterRecipient(props.onMessage);
  const create = (e: React.FormEvent) => {
    e.preventDefault();
    // Before the departments have loaded there is none to pick: sent without one as before,
    // and the API refuses it (400, shown); the cast is that case.
    register.mutate({ ...form, departmentId: (form.departmentId || props.departments[0]?.id) as string });
  };
  return (
    <form className="card form-row" onSubmit={create}>
      <label>
        {t("recipients.firstName")}
        <input
          required
          value={form.firstName}
          onChange={(e) => setForm({ ...form, firstName: e.target.value })}
        />
      </label>
      <label>
        {t("recipients.lastName")}
        <input
          required
          value={form.lastName}
          onChange={(e) => setForm({ ...form, lastName: e.target.value })}
        />
      </label>
      <label>
        {t("common.department")}
        <DepartmentSelect
          departments={props.departments}
          value={form.departmentId}
          onChange={(departmentId) => setForm({ ...form, departmentId })}
        />
      </label>
      <label>
        {t("recipient.legalBasis")}
        <select
          value={form.legalBasis}
          onChange={(e) => setForm({ ...form, legalBasis: e.target.value as typeof form.legalBasis })}
        >
          {(["consent", "formal_decision", "other"] as const).map((b) => (
            <option key={b} value={b}>
              {t(`legal.${b}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("alarm.responderNotes")}
        <input
          value={form.responderNotes}
          onChange={(e) => setForm({ ...form, responderNotes: e.target.value })}
        />
      </label>
      <button type="submit" className="primary">
        {t("recipients.new")}
      </button>
    </form>
  );
}

type RegisterForm = {
  firstName: string;
  lastName: string;
  departmentId: string;
  legalBasis: "consent" | "formal_decision" | "other";
  legalBasisReference: string;
  responderNotes: string;
};

function useRegisterRecipient(onMessage: (text: string) => void) {
  const { t } = useUi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (form: RegisterForm) =>
      data(
        api.POST("/api/v1/recipients", {
          body: { ...form, legalBasisReference: form.legalBasisReference || null },
        }),
        recipient,
      ),
    onSuccess: () => {
      onMessage(t("common.saved"));
      return client.invalidateQueries({ queryKey: queryKeys.recipients });
    },
    onError: (err) => onMessage(errorText(err)),
  });
}
