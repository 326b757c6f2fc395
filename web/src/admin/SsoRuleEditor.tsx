import { roleKey } from "@vakt/schemas";
import { useUi } from "../session/context";
import { DepartmentSelect } from "./DepartmentsAdmin";
import type { FieldError, RuleDraft } from "./sso-form";

/** One group-to-role rule of a provider. */
export function SsoRuleEditor(props: {
  n: number;
  rule: RuleDraft;
  departments: Parameters<typeof DepartmentSelect>[0]["departments"];
  errors: FieldError[];
  onChange(rule: RuleDraft): void;
  onRemove(): void;
}) {
  const { t } = useUi();
  const { rule } = props;
  return (
    <fieldset data-testid="sso-rule" className="form-row">
      <legend>{t("sso.rule", { n: props.n })}</legend>
      <label>
        {t("sso.group")}
        <input
          value={rule.group}
          required
          onChange={(e) => props.onChange({ ...rule, group: e.target.value })}
        />
      </label>
      <label>
        {t("users.role")}
        <select
          aria-label={t("users.role")}
          value={rule.role}
          onChange={(e) => props.onChange({ ...rule, role: roleKey.parse(e.target.value) })}
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
          value={rule.departmentId}
          onChange={(departmentId) => props.onChange({ ...rule, departmentId })}
          allowRoot={t("role.wholeOrganisation")}
          label={t("common.department")}
        />
      </label>
      <button type="button" onClick={props.onRemove}>
        {t("sso.removeRule")}
      </button>
      {props.errors.length > 0 && (
        <p className="error small">{[...new Set(props.errors.map((e) => t(e.key)))].join(" ")}</p>
      )}
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
