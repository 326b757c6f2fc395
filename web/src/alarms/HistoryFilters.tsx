import { zodResolver } from "@hookform/resolvers/zod";
import { useQuery } from "@tanstack/react-query";
import { alarmOutcome, alarmType, department, recipient } from "@vakt/schemas";
import { useEffect, useId, useMemo } from "react";
import { type UseFormRegister, useForm } from "react-hook-form";
import { z } from "zod";
import { departmentTree } from "../admin/DepartmentsAdmin";
import { FieldError, invalidProps } from "../admin/FieldError";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { can, useSession, useUi } from "../session/context";
import {
  type HistoryFilterInput,
  type HistoryFilters,
  historyFieldError,
  historyFilterForm,
  noHistoryFilters,
} from "./history-filter-form";

/** The departments and recipients (for those who may read them) the history can be filtered by. */
function useFilterChoices() {
  const session = useSession();
  const departments =
    useQuery({
      queryKey: queryKeys.departments,
      queryFn: () => data(api.GET("/api/v1/departments"), z.array(department)),
    }).data ?? [];
  const recipientList = useQuery({
    queryKey: ["recipients"],
    enabled: can(session, "recipient:read"),
    queryFn: () => data(api.GET("/api/v1/recipients"), z.array(recipient)),
  }).data;
  const recipients = useMemo(
    () =>
      (recipientList ?? [])
        .map((r) => ({ id: r.id, name: `${r.firstName ?? ""} ${r.lastName ?? ""}`.trim() || r.id }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    [recipientList],
  );
  return { departments, recipients };
}

/**
 * The history's filters, applied as they change once the form takes them: a period that ends
 * before it starts (or a date that is not one) is refused in words under the form and not applied.
 */
export function HistoryFilterForm(props: {
  onApply(filters: HistoryFilters): void;
  busy: boolean;
  onExport(): void;
}) {
  const { t } = useUi();
  const id = useId();
  const form = useForm<HistoryFilterInput, unknown, HistoryFilters>({
    resolver: zodResolver(historyFilterForm),
    defaultValues: noHistoryFilters(),
  });
  const { onApply } = props;
  useEffect(() => {
    const sub = form.watch(() => void form.handleSubmit(onApply)());
    return () => sub.unsubscribe();
  }, [form, onApply]);
  const errors = form.formState.errors;
  const field = (name: keyof HistoryFilterInput) => ({
    id: `${id}-${name}`,
    ...form.register(name),
    ...invalidProps(id, errors, name),
  });
  const fieldError = (name: keyof HistoryFilterInput) => (
    <FieldError
      formId={id}
      errors={errors}
      field={name}
      text={(f) => t(historyFieldError(f, form.getValues()))}
    />
  );
  return (
    <form
      className="form-row history__filters"
      noValidate
      aria-label={t("history.filters")}
      onSubmit={form.handleSubmit(onApply)}
    >
      <HistoryChoices id={id} field={field} />
      <label htmlFor={`${id}-from`}>{t("looked.from")}</label>
      <input type="date" {...field("from")} />
      <label htmlFor={`${id}-to`}>{t("looked.to")}</label>
      <input type="date" {...field("to")} />
      <button type="button" disabled={props.busy} onClick={props.onExport}>
        {t("activity.exportCsv")}
      </button>
      {fieldError("departmentId")}
      {fieldError("type")}
      {fieldError("outcome")}
      {fieldError("recipientId")}
      {fieldError("from")}
      {fieldError("to")}
    </form>
  );
}

type FieldProps = ReturnType<UseFormRegister<HistoryFilterInput>> & { id: string };

/** The department, type, outcome and recipient to filter by (the recipient for those who may read them). */
function HistoryChoices(props: { id: string; field(name: keyof HistoryFilterInput): FieldProps }) {
  const { t } = useUi();
  const { departments, recipients } = useFilterChoices();
  return (
    <>
      <label htmlFor={`${props.id}-departmentId`}>{t("history.department")}</label>
      <select {...props.field("departmentId")}>
        <option value="">{t("history.all")}</option>
        {departmentTree(departments).map(({ dept, depth }) => (
          <option key={dept.id} value={dept.id}>
            {"\u00a0\u00a0".repeat(depth)}
            {dept.name}
          </option>
        ))}
      </select>
      <label htmlFor={`${props.id}-type`}>{t("history.type")}</label>
      <select {...props.field("type")}>
        <option value="">{t("history.all")}</option>
        {alarmType.options.map((o) => (
          <option key={o} value={o}>
            {t(`alarm.type.${o}`)}
          </option>
        ))}
      </select>
      <label htmlFor={`${props.id}-outcome`}>{t("alarm.outcome")}</label>
      <select {...props.field("outcome")}>
        <option value="">{t("history.all")}</option>
        {alarmOutcome.options.map((o) => (
          <option key={o} value={o}>
            {t(`alarm.outcome.${o}`)}
          </option>
        ))}
      </select>
      {recipients.length > 0 && (
        <>
          <label htmlFor={`${props.id}-recipientId`}>{t("history.recipient")}</label>
          <select {...props.field("recipientId")}>
            <option value="">{t("history.all")}</option>
            {recipients.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </>
      )}
    </>
  );
}
