import { useId } from "react";
import { useUi } from "../session/context";
import { useDepartments } from "./queries";
import { FieldErrors, SsoRuleEditor } from "./SsoRuleEditor";
import { type DraftField, type FieldError, newRule } from "./sso-form";
import { ssoLabels } from "./sso-text";
import type { SsoEditor } from "./use-sso-editor";

type TextFieldName = "displayName" | "issuer" | "clientId" | "scopes" | "emailClaim" | "groupsClaim";
type Fields = { editor: SsoEditor; formId: string };

const fieldErrorsOf = (errors: FieldError[], f: DraftField) =>
  errors.filter((e) => e.field === f && e.row === null);

/** The provider being edited, or a new one: its connection, its domains and its group rules. */
export function SsoProviderForm({ editor }: { editor: SsoEditor }) {
  const { t } = useUi();
  const formId = useId();
  const { editing, message, open } = editor;
  const title = editing ? t("sso.editTitle", { name: editing.displayName }) : t("sso.new");
  return (
    <form className="card sso-form" onSubmit={editor.save} noValidate aria-label={title}>
      <h2>{title}</h2>
      <RedirectUriRow editor={editor} />
      <div className="form-grid">
        <TextField editor={editor} formId={formId} f="displayName" />
        <TextField editor={editor} formId={formId} f="issuer" />
        <TextField editor={editor} formId={formId} f="clientId" />
        <SecretField editor={editor} formId={formId} />
        <TextField editor={editor} formId={formId} f="scopes" />
        <TextField editor={editor} formId={formId} f="emailClaim" />
        <TextField editor={editor} formId={formId} f="groupsClaim" />
        <DomainsField editor={editor} formId={formId} />
      </div>
      <div className="buttons">
        <CheckField editor={editor} f="createUsers" />
        <CheckField editor={editor} f="requireVerifiedEmail" />
        <CheckField editor={editor} f="enabled" />
      </div>
      <RulesSection editor={editor} />
      <ErrorSummary errors={editor.errors} />
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

function TextField({ editor, formId, f }: Fields & { f: TextFieldName }) {
  const { t } = useUi();
  const errors = fieldErrorsOf(editor.errors, f);
  return (
    <div>
      <label>
        {t(ssoLabels[f])}
        <input
          name={f}
          value={editor.draft[f]}
          required={f === "displayName" || f === "issuer" || f === "clientId"}
          type={f === "issuer" ? "url" : "text"}
          aria-invalid={errors.length > 0 || undefined}
          aria-describedby={errors.length ? `${formId}-${f}-error` : undefined}
          onChange={(e) => editor.set(f, e.target.value)}
        />
      </label>
      <FieldErrors id={`${formId}-${f}-error`} errors={errors} />
    </div>
  );
}

/** Write-only: left empty on a change, the stored secret stays. */
function SecretField({ editor, formId }: Fields) {
  const { t } = useUi();
  const { editing } = editor;
  return (
    <div>
      <label>
        {t("sso.clientSecret")}
        <input
          name="clientSecret"
          type="password"
          autoComplete="off"
          required={!editing}
          value={editor.draft.clientSecret}
          aria-describedby={editing?.hasClientSecret ? `${formId}-secret-help` : undefined}
          onChange={(e) => editor.set("clientSecret", e.target.value)}
        />
      </label>
      {editing?.hasClientSecret && (
        <p id={`${formId}-secret-help`} className="muted small">
          {t("sso.secretKeep")}
        </p>
      )}
      <FieldErrors
        id={`${formId}-clientSecret-error`}
        errors={fieldErrorsOf(editor.errors, "clientSecret")}
      />
    </div>
  );
}

function DomainsField({ editor, formId }: Fields) {
  const { t } = useUi();
  const errors = fieldErrorsOf(editor.errors, "emailDomains");
  return (
    <div>
      <label>
        {t("sso.emailDomains")}
        <input
          name="emailDomains"
          value={editor.draft.emailDomains}
          aria-invalid={errors.length > 0 || undefined}
          onChange={(e) => editor.set("emailDomains", e.target.value)}
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
      <input
        type="checkbox"
        name={f}
        checked={editor.draft[f]}
        onChange={(e) => editor.set(f, e.target.checked)}
      />
      {t(ssoLabels[f])}
    </label>
  );
}

function RulesSection({ editor }: { editor: SsoEditor }) {
  const { t } = useUi();
  const depts = useDepartments();
  const { draft, set, errors } = editor;
  return (
    <>
      <h3>{t("sso.rules")}</h3>
      <p className="muted small">{t("sso.rulesHelp")}</p>
      {draft.mappingRules.map((rule, i) => (
        <SsoRuleEditor
          // Rules have no id of their own; the row is their identity while editing.
          // biome-ignore lint/suspicious/noArrayIndexKey: see above
          key={i}
          n={i + 1}
          rule={rule}
          departments={depts.data ?? []}
          errors={errors.filter((e) => e.field === "mappingRules" && e.row === i)}
          onChange={(r) =>
            set(
              "mappingRules",
              draft.mappingRules.map((x, j) => (j === i ? r : x)),
            )
          }
          onRemove={() =>
            set(
              "mappingRules",
              draft.mappingRules.filter((_, j) => j !== i),
            )
          }
        />
      ))}
      <button type="button" onClick={() => set("mappingRules", [...draft.mappingRules, newRule()])}>
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
