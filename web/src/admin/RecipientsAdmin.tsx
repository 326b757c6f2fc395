import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type Department, recipient } from "@vakt/schemas";
import { useId, useState } from "react";
import { Controller, useForm } from "react-hook-form";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { can, useSession, useUi } from "../session/context";
import { Link } from "../ui/router";
import {
  DepartmentSelect,
  departmentName,
  openDepartments,
  useFirstDepartmentUntilPicked,
} from "./DepartmentsAdmin";
import { FieldError, invalidProps } from "./FieldError";
import { errorText, useDepartments, useRecipients } from "./queries";
import {
  emptyRecipientForm,
  LEGAL_BASES,
  type RecipientCreateBody,
  type RecipientFormInput,
  recipientFieldError,
  recipientForm,
} from "./recipient-form";

/** Recipients with a link to each one's page, and registration with the legal basis for tracking. */
export function RecipientsAdmin() {
  const { t } = useUi();
  const session = useSession();
  const list = useRecipients();
  const depts = useDepartments();
  const [message, setMessage] = useState<string | null>(null);
  // A recipient in a closed department is still shown in it, marked closed.
  const deptName = (id: string) =>
    departmentName(
      depts.data?.find((d) => d.id === id),
      t("dept.closed"),
    );
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
  const id = useId();
  const open = openDepartments(props.departments);
  const form = useForm<RecipientFormInput, unknown, RecipientCreateBody>({
    resolver: zodResolver(recipientForm),
    defaultValues: emptyRecipientForm(),
  });
  useFirstDepartmentUntilPicked(form, open);
  const register = useRegisterRecipient(props.onMessage, (body) =>
    form.reset(emptyRecipientForm(body.departmentId)),
  );
  const errors = form.formState.errors;
  const fieldError = (field: keyof RecipientFormInput) => (
    <FieldError formId={id} errors={errors} field={field} text={(f) => t(recipientFieldError(f))} />
  );
  return (
    <form
      className="card form-row"
      noValidate
      aria-label={t("recipients.new")}
      onSubmit={form.handleSubmit((body) => register.mutate(body))}
    >
      {(["firstName", "lastName"] as const).map((f) => (
        <label key={f}>
          {t(`recipients.${f}`)}
          <input autoComplete="off" {...form.register(f)} {...invalidProps(id, errors, f)} />
        </label>
      ))}
      <label htmlFor={`${id}-department`}>
        {t("common.department")}
        <Controller
          control={form.control}
          name="departmentId"
          render={({ field }) => (
            <DepartmentSelect
              id={`${id}-department`}
              departments={open}
              value={field.value}
              onChange={field.onChange}
              label={t("common.department")}
            />
          )}
        />
      </label>
      <label>
        {t("recipient.legalBasis")}
        <select {...form.register("legalBasis")}>
          {LEGAL_BASES.map((b) => (
            <option key={b} value={b}>
              {t(`legal.${b}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("alarm.responderNotes")}
        <input {...form.register("responderNotes")} {...invalidProps(id, errors, "responderNotes")} />
      </label>
      <button type="submit" className="primary" disabled={register.isPending}>
        {t("recipients.new")}
      </button>
      {fieldError("firstName")}
      {fieldError("lastName")}
      {fieldError("departmentId")}
      {fieldError("legalBasis")}
      {fieldError("responderNotes")}
    </form>
  );
}

function useRegisterRecipient(
  onMessage: (text: string) => void,
  onSaved: (body: RecipientCreateBody) => void,
) {
  const { t } = useUi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: RecipientCreateBody) => data(api.POST("/api/v1/recipients", { body }), recipient),
    onSuccess: (_r, body) => {
      onSaved(body);
      onMessage(t("common.saved"));
      return client.invalidateQueries({ queryKey: queryKeys.recipients });
    },
    onError: (err) => onMessage(errorText(err)),
  });
}
