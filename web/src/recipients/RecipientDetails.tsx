import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { legalBasis, type Recipient, recipient } from "@vakt/schemas";
import { type ReactNode, useId, useState } from "react";
import { type UseFormReturn, useForm } from "react-hook-form";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import {
  type RecipientFormInput,
  type RecipientUpdateBody,
  recipientFieldError,
  recipientForm,
  recipientFormOf,
} from "./recipient-form";

export const recipientKey = (id: string) => ["recipients", id] as const;

/** Born, legal basis, status and the notes for responders, as read. */
export function RecipientFacts(props: { recipient: Recipient }) {
  const { t, date } = useUi();
  const r = props.recipient;
  return (
    <dl className="facts card" data-testid="recipient-facts">
      <dt>{t("recipient.birthDate")}</dt>
      <dd>{r.birthDate ? date(r.birthDate) : "–"}</dd>
      <dt>{t("recipient.legalBasis")}</dt>
      <dd>
        {t(`legal.${r.legalBasis}`)}
        {r.legalBasisReference ? ` (${r.legalBasisReference})` : ""}
        {r.legalBasisDate ? `, ${r.legalBasisDate}` : ""}
      </dd>
      <dt>{t("recipient.status")}</dt>
      <dd>
        {t(`enum.recipientStatus.${r.status}`)}
        {r.serviceEndedOn ? ` (${r.serviceEndedOn})` : ""}
      </dd>
      <dt>{t("alarm.responderNotes")}</dt>
      <dd>{r.responderNotes || "–"}</dd>
    </dl>
  );
}

/** The facts, and for those who manage recipients a form that changes them. */
export function RecipientDetails(props: { recipient: Recipient; editable: boolean }) {
  const { t } = useUi();
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  if (editing)
    return (
      <RecipientEditForm
        recipient={props.recipient}
        onDone={(ok) => {
          setEditing(false);
          setSaved(ok);
        }}
      />
    );
  return (
    <>
      <RecipientFacts recipient={props.recipient} />
      {props.editable && (
        <button
          type="button"
          onClick={() => {
            setSaved(false);
            setEditing(true);
          }}
        >
          {t("recipient.edit")}
        </button>
      )}
      <p role="status">{saved ? t("recipient.saved") : ""}</p>
    </>
  );
}

const textFields = [
  ["firstName", "recipients.firstName", "text"],
  ["lastName", "recipients.lastName", "text"],
  ["birthDate", "recipient.birthDate", "date"],
] as const;

function RecipientEditForm(props: { recipient: Recipient; onDone(saved: boolean): void }) {
  const { t } = useUi();
  const id = useId();
  const client = useQueryClient();
  const r = props.recipient;
  const form = useForm<RecipientFormInput, unknown, RecipientUpdateBody>({
    resolver: zodResolver(recipientForm),
    defaultValues: recipientFormOf(r),
  });
  const save = useMutation({
    mutationFn: (body: RecipientUpdateBody) =>
      data(api.PATCH("/api/v1/recipients/{id}", { params: { path: { id: r.id } }, body }), recipient),
    onSuccess: (updated) => {
      client.setQueryData(recipientKey(r.id), updated);
      void client.invalidateQueries({ queryKey: ["recipients"], exact: true });
      props.onDone(true);
    },
  });
  const errors = form.formState.errors;
  const described = (field: keyof RecipientFormInput) =>
    errors[field] ? { "aria-describedby": `${id}-${field}-error`, "aria-invalid": true } : {};
  const fieldError = (field: keyof RecipientFormInput) =>
    errors[field] ? (
      <p id={`${id}-${field}-error`} className="error small" role="alert">
        {t(recipientFieldError(field))}
      </p>
    ) : null;
  const name = `${r.firstName ?? ""} ${r.lastName ?? ""}`.trim();
  return (
    <form
      className="card"
      aria-labelledby={`${id}-title`}
      data-testid="recipient-edit"
      noValidate
      onSubmit={form.handleSubmit((body) => save.mutate(body))}
    >
      <h3 id={`${id}-title`}>{t("recipient.editTitle", { name })}</h3>
      {textFields.map(([field, label, type]) => (
        <div key={field}>
          <label htmlFor={`${id}-${field}`}>{t(label)}</label>
          <input id={`${id}-${field}`} type={type} {...form.register(field)} {...described(field)} />
          {fieldError(field)}
        </div>
      ))}
      <LegalAndStatusFields id={id} form={form} described={described} fieldError={fieldError} />
      <label htmlFor={`${id}-responderNotes`}>{t("alarm.responderNotes")}</label>
      <textarea
        id={`${id}-responderNotes`}
        rows={3}
        {...form.register("responderNotes")}
        {...described("responderNotes")}
      />
      {fieldError("responderNotes")}
      <div className="buttons">
        <button type="submit" className="primary" disabled={save.isPending}>
          {t("common.save")}
        </button>
        <button type="button" onClick={() => props.onDone(false)}>
          {t("common.cancel")}
        </button>
      </div>
      {save.error && (
        <p className="error" role="alert">
          {save.error.message}
        </p>
      )}
    </form>
  );
}

type Described = (field: keyof RecipientFormInput) => {
  "aria-describedby"?: string;
  "aria-invalid"?: boolean;
};

/** The legal basis and whether the service has ended (with its date once it has). */
function LegalAndStatusFields(props: {
  id: string;
  form: UseFormReturn<RecipientFormInput, unknown, RecipientUpdateBody>;
  described: Described;
  fieldError(field: keyof RecipientFormInput): ReactNode;
}) {
  const { t } = useUi();
  const { id, form, described, fieldError } = props;
  const status = form.watch("status");
  return (
    <>
      <label htmlFor={`${id}-legalBasis`}>{t("recipient.legalBasis")}</label>
      <select id={`${id}-legalBasis`} {...form.register("legalBasis")}>
        {legalBasis.options.map((b) => (
          <option key={b} value={b}>
            {t(`legal.${b}`)}
          </option>
        ))}
      </select>
      <label htmlFor={`${id}-legalBasisReference`}>{t("recipient.legalBasisReference")}</label>
      <input
        id={`${id}-legalBasisReference`}
        {...form.register("legalBasisReference")}
        {...described("legalBasisReference")}
      />
      {fieldError("legalBasisReference")}
      <label htmlFor={`${id}-legalBasisDate`}>{t("recipient.legalBasisDate")}</label>
      <input
        id={`${id}-legalBasisDate`}
        type="date"
        {...form.register("legalBasisDate")}
        {...described("legalBasisDate")}
      />
      {fieldError("legalBasisDate")}
      <label htmlFor={`${id}-status`}>{t("recipient.status")}</label>
      <select id={`${id}-status`} {...form.register("status")}>
        <option value="active">{t("enum.recipientStatus.active")}</option>
        <option value="ended">{t("enum.recipientStatus.ended")}</option>
      </select>
      {status === "ended" && (
        <>
          <label htmlFor={`${id}-serviceEndedOn`}>{t("recipient.serviceEndedOn")}</label>
          <input
            id={`${id}-serviceEndedOn`}
            type="date"
            {...form.register("serviceEndedOn")}
            {...described("serviceEndedOn")}
          />
          {fieldError("serviceEndedOn")}
        </>
      )}
    </>
  );
}
