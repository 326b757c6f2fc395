import { roleKey } from "@vakt/schemas";
import { Controller, type UseFormReturn } from "react-hook-form";
import { useUi } from "../session/context";
import { DepartmentSelect, departmentName, openDepartments } from "./DepartmentsAdmin";
import type { FieldError, ProviderDraft, SsoSubmit } from "./sso-form";

type Departments = Parameters<typeof DepartmentSelect>[0]["departments"];

/**
 * The departments a rule may map to: the open ones (the API refuses a rule in a closed department,
 * 409 department-closed), and a rule's own department closed since, marked, so it is not shown as another.
 */
function ruleDepartments(all: Departments, current: string, closed: string): Departments {
  const open = openDepartments(all);
  const own = all.find((d) => d.id === current && d.closedAt !== null);
  return own ? [...open, { ...own, name: departmentName(own, closed) }] : open;
}

/** One group-to-role rule of a provider: row `index` of the form's mappingRules. */
export function SsoRuleEditor(props: {
  form: UseFormReturn<ProviderDraft, unknown, SsoSubmit>;
  index: number;
  formId: string;
  departments: Departments;
  errors: FieldError[];
  onRemove(): void;
}) {
  const { t } = useUi();
  const { form, index: i } = props;
  const rowId = `${props.formId}-rule-${i}`;
  const errorId = `${rowId}-error`;
  const invalid = (column: string) =>
    props.errors.some((e) => (e.column ?? "group") === column)
      ? { "aria-invalid": true as const, "aria-describedby": errorId }
      : {};
  return (
    <fieldset data-testid="sso-rule" className="form-row">
      <legend>{t("sso.rule", { n: i + 1 })}</legend>
      <label>
        {t("sso.group")}
        <input {...form.register(`mappingRules.${i}.group`)} {...invalid("group")} />
      </label>
      <label>
        {t("users.role")}
        <select
          aria-label={t("users.role")}
          {...form.register(`mappingRules.${i}.role`)}
          {...invalid("role")}
        >
          {roleKey.options.map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}`)}
            </option>
          ))}
        </select>
      </label>
      <label htmlFor={`${rowId}-department`}>
        {t("common.department")}
        <Controller
          control={form.control}
          name={`mappingRules.${i}.departmentId`}
          render={({ field }) => (
            <DepartmentSelect
              id={`${rowId}-department`}
              departments={ruleDepartments(props.departments, field.value, t("dept.closed"))}
              value={field.value}
              onChange={field.onChange}
              allowRoot={t("role.wholeOrganisation")}
              label={t("common.department")}
            />
          )}
        />
      </label>
      <button type="button" onClick={props.onRemove}>
        {t("sso.removeRule")}
      </button>
      <FieldErrors id={errorId} errors={props.errors} />
    </fieldset>
  );
}

/** A field's errors, each message once. */
export function FieldErrors(props: { id: string; errors: FieldError[] }) {
  const { t } = useUi();
  if (props.errors.length === 0) return null;
  return (
    <p id={props.id} className="error small">
      {[...new Set(props.errors.map((e) => t(e.key)))].join(" ")}
    </p>
  );
}
