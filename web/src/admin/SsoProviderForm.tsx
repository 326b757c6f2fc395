import { useId } from "react";
import { useFieldArray } from "react-hook-form";
import { useUi } from "../session/context";
import { useDepartments } from "./queries";
import { FieldErrors, SsoRuleEditor } from "./SsoRuleEditor";
import { type DraftField, type FieldError, flatErrors, newRule } from "./sso-form";
import { ssoLabels } from "./sso-text";
import type { SsoEditor } from "./use-sso-editor";

type TextFieldName = "displayName" | "issuer" | "clientId" | "scopes" | "emailClaim" | "groupsClaim";
type Fields = { editor: SsoEditor; formId: string; errors: FieldError[] };

const fieldErrorsOf = (errors: FieldError[], f: DraftField) =>
  errors.filter((e) => e.field === f && e.row === null);

/** The provider being edited, or a new one: its connection, its domains and its group rules. */
export function SsoProviderForm({ editor }: { editor: SsoEditor }) {
  const { t } = useUi();
  const formId = useId();
  const { editing, message, open } = editor;
  const title = editing ? t("sso.editTitle", { name: editing.displayName }) : t("sso.new");
  const errors = flatErrors(editor.form.formState.errors);
  const fields = { editor, formId, errors };
  return (
    <form className="card sso-form" onSubmit={editor.save} noValidate aria-label={title}>
      <h2>{title}</h2>
      <RedirectUriRow editor={editor} />
      <div className="form-grid">
        <TextField {...fields} f="displayName" />
        <TextField {...fields} f="issuer" />
        <TextField {...fields} f="clientId" />
        <SecretField {...fields} />
        <TextField {...fields} f="scopes" />
        <TextField {...fields} f="emailClaim" />
        <TextField {...fields} f="groupsClaim" />
        <DomainsField {...fields} />
      </div>
      <div className="buttons">
        <CheckField editor={editor} f="createUsers" />
        <CheckField editor={editor} f="requireVerifiedEmail" />
        <CheckField editor={editor} f="enabled" />
      </div>
      <RulesSection {...fields} />
      <ErrorSummary errors={errors} />
      <div className="buttons">
        <button type="submit" className="primary">
          {editing ? t("common.save") : t("common.create")}
        </button>
        {editing && (
          <button type="button" onClick={() => open(null)}>
            {t("common.cancel")}
          </button>
        )}
      </div>
      {message && <p role="status">{message}</p>}
    </form>
  );
}

/** The callback address to register at the provider, with a copy button. */
function RedirectUriRow({ editor }: { editor: SsoEditor }) {
  const { t } = useUi();
  const { redirectUri, copied, setCopied } = editor;
  return (
    <div className="form-row">
      <label className="grow">
        {t("sso.redirectUri")}
        <input readOnly value={redirectUri} onFocus={(e) => e.target.select()} />
      </label>
      <button
        type="button"
        onClick={() =>
          navigator.clipboard?.writeText(redirectUri).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {copied ? t("sso.copied") : t("sso.copy")}
      </button>
    </div>
  );
}

function TextField({ editor, formId, errors: all, f }: Fields & { f: TextFieldName }) {
  const { t } = useUi();
  const errors = fieldErrorsOf(all, f);
  return (
    <div>
      <label>
        {t(ssoLabels[f])}
        <input
          type={f === "issuer" ? "url" : "text"}
          {...editor.form.register(f)}
          aria-invalid={errors.length > 0 || undefined}
          aria-describedby={errors.length ? `${formId}-${f}-error` : undefined}
        />
      </label>
      <FieldErrors id={`${formId}-${f}-error`} errors={errors} />
    </div>
  );
}

/** Write-only: left empty on a change, the stored secret stays. */
function SecretField({ editor, formId, errors: all }: Fields) {
  const { t } = useUi();
  const { editing } = editor;
  const errors = fieldErrorsOf(all, "clientSecret");
  const described = [
    editing?.hasClientSecret ? `${formId}-secret-help` : "",
    errors.length ? `${formId}-clientSecret-error` : "",
  ].filter(Boolean);
  return (
    <div>
      <label>
        {t("sso.clientSecret")}
        <input
          type="password"
          autoComplete="off"
          {...editor.form.register("clientSecret")}
          aria-invalid={errors.length > 0 || undefined}
          aria-describedby={described.length ? described.join(" ") : undefined}
        />
      </label>
      {editing?.hasClientSecret && (
        <p id={`${formId}-secret-help`} className="muted small">
          {t("sso.secretKeep")}
        </p>
      )}
      <FieldErrors id={`${formId}-clientSecret-error`} errors={errors} />
    </div>
  );
}

function DomainsField({ editor, formId, errors: all }: Fields) {
  const { t } = useUi();
  const errors = fieldErrorsOf(all, "emailDomains");
  return (
    <div>
      <label>
        {t("sso.emailDomains")}
        <input
          {...editor.form.register("emailDomains")}
          aria-invalid={errors.length > 0 || undefined}
          aria-describedby={errors.length ? `${formId}-emailDomains-error` : undefined}
        />
      </label>
      <FieldErrors id={`${formId}-emailDomains-error`} errors={errors} />
    </div>
  );
}

function CheckField({
  editor,
  f,
}: {
  editor: SsoEditor;
  f: "createUsers" | "requireVerifiedEmail" | "enabled";
}) {
  const { t } = useUi();
  return (
    <label className="inline">
      <input type="checkbox" {...editor.form.register(f)} />
      {t(ssoLabels[f])}
    </label>
  );
}

function RulesSection({ editor, formId, errors }: Fields) {
  const { t } = useUi();
  const depts = useDepartments();
  const rules = useFieldArray({ control: editor.form.control, name: "mappingRules" });
  return (
    <>
      <h3>{t("sso.rules")}</h3>
      <p className="muted small">{t("sso.rulesHelp")}</p>
      {rules.fields.map((rule, i) => (
        <SsoRuleEditor
          key={rule.id}
          form={editor.form}
          index={i}
          formId={formId}
          departments={depts.data ?? []}
          errors={errors.filter((e) => e.field === "mappingRules" && e.row === i)}
          onRemove={() => rules.remove(i)}
        />
      ))}
      <button type="button" onClick={() => rules.append(newRule())}>
        {t("sso.addRule")}
      </button>
    </>
  );
}

/** Every problem of the draft once, named by field and rule. */
function ErrorSummary({ errors }: { errors: FieldError[] }) {
  const { t } = useUi();
  if (errors.length === 0) return null;
  return (
    <div className="error" role="alert">
      {t("sso.invalid")}
      <ul>
        {errors
          .filter(
            (e, i) =>
              errors.findIndex((x) => x.field === e.field && x.row === e.row && x.key === e.key) === i,
          )
          .map((e) => (
            <li key={`${e.field}-${e.row}-${e.key}`}>
              {e.field ? t(ssoLabels[e.field]) : ""}
              {e.row !== null ? ` (${t("sso.rule", { n: e.row + 1 })})` : ""}: {t(e.key)}
            </li>
          ))}
      </ul>
    </div>
  );
}
