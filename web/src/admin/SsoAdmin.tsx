import { loginSettings, roleKey, type SsoProvider, ssoProvider } from "@vakt/schemas";
import { useEffect, useId, useState } from "react";
import { z } from "zod";
import { api, data } from "../api/typed";
import type { MessageKey } from "../i18n/dict";
import { useUi } from "../session/context";
import { DepartmentSelect } from "./DepartmentsAdmin";
import { errorText, routeMissing, useDepartments, useLoginSettings, useSsoProviders } from "./queries";
import {
  type DraftField,
  draftFrom,
  emptyDraft,
  type FieldError,
  newRule,
  type ProviderDraft,
  problemFields,
  type RuleDraft,
  toCreate,
  toUpdate,
} from "./sso-form";

const labels: Record<DraftField, MessageKey> = {
  displayName: "sso.displayName",
  issuer: "sso.issuer",
  clientId: "sso.clientId",
  clientSecret: "sso.clientSecret",
  scopes: "sso.scopes",
  emailClaim: "sso.emailClaim",
  groupsClaim: "sso.groupsClaim",
  emailDomains: "sso.emailDomains",
  createUsers: "sso.createUsers",
  requireVerifiedEmail: "sso.requireVerifiedEmail",
  enabled: "sso.enabled",
  mappingRules: "sso.rules",
};

/** An API problem with the fields it names (a 422 names each), in the form's words, never the server's. */
function problemText(err: unknown, t: ReturnType<typeof useUi>["t"]): string {
  const names = problemFields(err).map((f) => t(labels[f]));
  return names.length ? `${errorText(err)} (${names.join(", ")})` : errorText(err);
}

/** Organisation-wide: may staff log in with a password, or only through single sign-on? */
function LoginSettingsForm() {
  const { t } = useUi();
  const settings = useLoginSettings();
  const [allow, setAllow] = useState<boolean | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    if (settings.data) setAllow(settings.data.localPasswordLogin);
  }, [settings.data]);
  if (routeMissing(settings.error)) return <p className="muted">{t("admin.notAvailable")}</p>;
  if (allow === null) return <p>{settings.error ? errorText(settings.error) : t("common.loading")}</p>;
  return (
    <form
      className="card"
      aria-label={t("sso.loginSettings")}
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const body = loginSettings.parse({ localPasswordLogin: allow });
          const saved = await data(api.PUT("/api/v1/organisation/login-settings", { body }), loginSettings);
          setAllow(saved.localPasswordLogin);
          setMessage(t("common.saved"));
        } catch (err) {
          setMessage(problemText(err, t));
        }
      }}
    >
      <h2>{t("sso.loginSettings")}</h2>
      <label className="inline">
        <input
          type="checkbox"
          role="switch"
          aria-checked={allow}
          aria-describedby="password-login-help"
          checked={allow}
          onChange={(e) => setAllow(e.target.checked)}
        />
        {t("sso.allowPassword")}
      </label>
      <p id="password-login-help" className="muted small">
        {t("sso.allowPasswordHelp")}
      </p>
      <button type="submit" className="primary">
        {t("common.save")}
      </button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}

function RuleEditor(props: {
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

/**
 * Single sign-on: the organisation's OpenID Connect providers (the secret is
 * write-only), the rules turning their groups into roles, and whether password
 * login stays allowed.
 */
export function SsoAdmin() {
  const { t } = useUi();
  const list = useSsoProviders();
  const depts = useDepartments();
  const [editing, setEditing] = useState<SsoProvider | null>(null);
  const [draft, setDraft] = useState<ProviderDraft>(emptyDraft);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const formId = useId();

  if (routeMissing(list.error)) return <p className="muted">{t("admin.notAvailable")}</p>;

  const open = (p: SsoProvider | null) => {
    setEditing(p);
    setDraft(p ? draftFrom(p) : emptyDraft());
    setErrors([]);
    setMessage(null);
    setCopied(false);
  };
  // The same for every provider; before the first exists, where this console is served.
  const redirectUri =
    editing?.redirectUri ?? list.data?.[0]?.redirectUri ?? `${location.origin}/api/v1/auth/sso/callback`;
  const set = <K extends DraftField>(field: K, value: ProviderDraft[K]) =>
    setDraft({ ...draft, [field]: value });
  const fieldErrors = (f: DraftField) => errors.filter((e) => e.field === f && e.row === null);

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setMessage(null);
    // A change and a creation have different bodies (a creation needs every field), so each is
    // converted and sent on its own.
    const update = editing ? toUpdate(draft) : null;
    const create = editing ? null : toCreate(draft);
    const converted = update ?? create;
    if (converted && !converted.ok) return setErrors(converted.errors);
    setErrors([]);
    try {
      const saved = await data(
        editing && update?.ok
          ? api.PATCH("/api/v1/sso-providers/{id}", {
              params: { path: { id: editing.id } },
              body: update.body,
            })
          : create?.ok
            ? api.POST("/api/v1/sso-providers", { body: create.body })
            : Promise.reject(new Error("unreachable: the draft was checked above")),
        ssoProvider,
      );
      open(saved);
      setMessage(editing ? t("common.saved") : t("sso.created"));
      await list.refetch();
    } catch (err) {
      setMessage(problemText(err, t));
    }
  };
  const remove = async (p: SsoProvider) => {
    try {
      await data(api.DELETE("/api/v1/sso-providers/{id}", { params: { path: { id: p.id } } }), z.unknown());
      setDeleting(null);
      if (editing?.id === p.id) open(null);
      setMessage(t("sso.deleted"));
      await list.refetch();
    } catch (err) {
      setMessage(problemText(err, t));
    }
  };

  const text = (f: "displayName" | "issuer" | "clientId" | "scopes" | "emailClaim" | "groupsClaim") => (
    <div key={f}>
      <label>
        {t(labels[f])}
        <input
          name={f}
          value={draft[f]}
          required={f === "displayName" || f === "issuer" || f === "clientId"}
          type={f === "issuer" ? "url" : "text"}
          aria-invalid={fieldErrors(f).length > 0 || undefined}
          aria-describedby={fieldErrors(f).length ? `${formId}-${f}-error` : undefined}
          onChange={(e) => set(f, e.target.value)}
        />
      </label>
      <FieldErrors id={`${formId}-${f}-error`} errors={fieldErrors(f)} />
    </div>
  );
  const check = (f: "createUsers" | "requireVerifiedEmail" | "enabled") => (
    <label className="inline" key={f}>
      <input type="checkbox" name={f} checked={draft[f]} onChange={(e) => set(f, e.target.checked)} />
      {t(labels[f])}
    </label>
  );

  return (
    <>
      <LoginSettingsForm />
      <h2>{t("sso.providers")}</h2>
      {list.error && <p className="error">{errorText(list.error)}</p>}
      {list.data?.length === 0 && <p className="muted">{t("sso.none")}</p>}
      {(list.data?.length ?? 0) > 0 && (
        <table data-testid="sso-providers-table">
          <thead>
            <tr>
              <th>{t("common.name")}</th>
              <th>{t("sso.issuer")}</th>
              <th>{t("sso.domains")}</th>
              <th>{t("sso.clientSecret")}</th>
              <th>{t("sso.enabled")}</th>
              <th>{t("common.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((p) => (
              <tr key={p.id}>
                <td>{p.displayName}</td>
                <td>{p.issuer}</td>
                <td>{p.emailDomains.join(", ")}</td>
                <td>{p.hasClientSecret ? t("sso.secretSet") : t("sso.secretMissing")}</td>
                <td>{p.enabled ? t("common.yes") : t("common.no")}</td>
                <td>
                  {deleting === p.id ? (
                    // biome-ignore lint/a11y/useSemanticElements: a confirm-or-cancel pair inside a table cell
                    <span className="buttons" role="group" aria-label={t("common.delete")}>
                      <span>{t("sso.deleteConfirm", { name: p.displayName })}</span>
                      <button type="button" onClick={() => remove(p)}>
                        {t("common.delete")}
                      </button>
                      <button type="button" onClick={() => setDeleting(null)}>
                        {t("common.cancel")}
                      </button>
                    </span>
                  ) : (
                    <span className="buttons">
                      <button
                        type="button"
                        aria-label={`${t("common.edit")}: ${p.displayName}`}
                        onClick={() => open(p)}
                      >
                        {t("common.edit")}
                      </button>
                      <button
                        type="button"
                        aria-label={`${t("common.delete")}: ${p.displayName}`}
                        onClick={() => setDeleting(p.id)}
                      >
                        {t("common.delete")}
                      </button>
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        className="card sso-form"
        onSubmit={save}
        noValidate
        aria-label={editing ? t("sso.editTitle", { name: editing.displayName }) : t("sso.new")}
      >
        <h2>{editing ? t("sso.editTitle", { name: editing.displayName }) : t("sso.new")}</h2>
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
        <div className="form-grid">
          {text("displayName")}
          {text("issuer")}
          {text("clientId")}
          <div>
            <label>
              {t("sso.clientSecret")}
              <input
                name="clientSecret"
                type="password"
                autoComplete="off"
                required={!editing}
                value={draft.clientSecret}
                aria-describedby={editing?.hasClientSecret ? `${formId}-secret-help` : undefined}
                onChange={(e) => set("clientSecret", e.target.value)}
              />
            </label>
            {editing?.hasClientSecret && (
              <p id={`${formId}-secret-help`} className="muted small">
                {t("sso.secretKeep")}
              </p>
            )}
            <FieldErrors id={`${formId}-clientSecret-error`} errors={fieldErrors("clientSecret")} />
          </div>
          {text("scopes")}
          {text("emailClaim")}
          {text("groupsClaim")}
          <div>
            <label>
              {t("sso.emailDomains")}
              <input
                name="emailDomains"
                value={draft.emailDomains}
                aria-invalid={fieldErrors("emailDomains").length > 0 || undefined}
                onChange={(e) => set("emailDomains", e.target.value)}
              />
            </label>
            <FieldErrors id={`${formId}-emailDomains-error`} errors={fieldErrors("emailDomains")} />
          </div>
        </div>
        <div className="buttons">
          {check("createUsers")}
          {check("requireVerifiedEmail")}
          {check("enabled")}
        </div>
        <h3>{t("sso.rules")}</h3>
        <p className="muted small">{t("sso.rulesHelp")}</p>
        {draft.mappingRules.map((rule, i) => (
          <RuleEditor
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
        {errors.length > 0 && (
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
                    {e.field ? t(labels[e.field]) : ""}
                    {e.row !== null ? ` (${t("sso.rule", { n: e.row + 1 })})` : ""}: {t(e.key)}
                  </li>
                ))}
            </ul>
          </div>
        )}
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
    </>
  );
}

function FieldErrors(props: { id: string; errors: FieldError[] }) {
  const { t } = useUi();
  if (props.errors.length === 0) return null;
  return (
    <p id={props.id} className="error small">
      {[...new Set(props.errors.map((e) => t(e.key)))].join(" ")}
    </p>
  );
}
