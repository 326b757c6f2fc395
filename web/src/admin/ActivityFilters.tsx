import { zodResolver } from "@hookform/resolvers/zod";
import type { StaffUser } from "@vakt/schemas";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { useUi } from "../session/context";
import {
  type ActivityFilterInput,
  type ActivityFilters,
  activityFieldError,
  activityFilterForm,
  noFilters,
} from "./activity-filter-form";
import { FieldError, invalidProps } from "./FieldError";

/** The activity log's filters (applied on submit), its CSV export and the chain check's button. */
export function ActivityFilterForm(props: {
  users: StaffUser[];
  onApply(filters: ActivityFilters): void;
  /** The export of the applied filters' query. */
  exportHref: string;
  verifying: boolean;
  onVerify(): void;
}) {
  const { t } = useUi();
  const id = useId();
  const form = useForm<ActivityFilterInput, unknown, ActivityFilters>({
    resolver: zodResolver(activityFilterForm),
    defaultValues: noFilters(),
  });
  const errors = form.formState.errors;
  const fieldError = (field: keyof ActivityFilterInput) => (
    <FieldError
      formId={id}
      errors={errors}
      field={field}
      text={(f) => t(activityFieldError(f, form.getValues()))}
    />
  );
  return (
    <form
      className="card form-row"
      noValidate
      aria-label={t("activity.filters")}
      onSubmit={form.handleSubmit(props.onApply)}
    >
      <label>
        {t("activity.user")}
        <select {...form.register("userId")} {...invalidProps(id, errors, "userId")}>
          <option value="">–</option>
          {props.users.map((u) => (
            <option key={u.id} value={u.id}>
              {u.firstName} {u.lastName}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("activity.action")}
        <input {...form.register("action")} {...invalidProps(id, errors, "action")} />
      </label>
      <label>
        {t("common.from")}
        <input type="datetime-local" {...form.register("from")} {...invalidProps(id, errors, "from")} />
      </label>
      <label>
        {t("common.to")}
        <input type="datetime-local" {...form.register("to")} {...invalidProps(id, errors, "to")} />
      </label>
      <button type="submit" className="primary">
        {t("common.apply")}
      </button>
      <a className="button" href={props.exportHref} download>
        {t("activity.exportCsv")}
      </a>
      <button type="button" disabled={props.verifying} onClick={props.onVerify}>
        {t("activity.verify")}
      </button>
      {fieldError("userId")}
      {fieldError("action")}
      {fieldError("from")}
      {fieldError("to")}
    </form>
  );
}
