import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { apiToken, apiTokenCreated, department } from "@vakt/schemas";
import { type ReactNode, useId, useState } from "react";
import { type UseFormReturn, useForm } from "react-hook-form";
import { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { departmentTree } from "./DepartmentsAdmin";
import { errorText } from "./queries";
import {
  emptyTokenForm,
  TOKEN_PERMISSIONS,
  type TokenCreateBody,
  type TokenFormInput,
  tokenFieldError,
  tokenForm,
  tokenState,
} from "./token-form";

/** API tokens for integrations: list, create (the secret shown once), revoke after a confirmation. */
export function TokensAdmin() {
  const { t, dateTime } = useUi();
  const tokens = useQuery({
    queryKey: queryKeys.tokens,
    queryFn: () => data(api.GET("/api/v1/tokens"), z.array(apiToken)),
  });
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const departments = useQuery({
    queryKey: queryKeys.departments,
    queryFn: () => data(api.GET("/api/v1/departments"), z.array(department)),
  });
  const names = new Map((departments.data ?? []).map((d) => [d.id, d.name]));
  const now = Date.now();
  return (
    <>
      {tokens.error && (
        <p className="error" role="alert">
          {errorText(tokens.error)}
        </p>
      )}
      {tokens.data && tokens.data.length === 0 && <p className="muted">{t("tokens.none")}</p>}
      {tokens.data && tokens.data.length > 0 && (
        <table data-testid="tokens-table">
          <thead>
            <tr>
              <th>{t("common.name")}</th>
              <th>{t("tokens.permissions")}</th>
              <th>{t("tokens.departments")}</th>
              <th>{t("tokens.names")}</th>
              <th>{t("tokens.expires")}</th>
              <th>{t("tokens.lastUsed")}</th>
              <th>{t("tokens.state")}</th>
              <th>
                <span className="sr-only">{t("common.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((tok) => (
              <tr key={tok.id} data-testid="token-row">
                <td>{tok.name}</td>
                <td>{tok.permissions.map((p) => t(`tokens.perm.${p}`)).join(", ")}</td>
                <td>
                  {tok.departmentIds === null
                    ? t("tokens.wholeOrganisation")
                    : tok.departmentIds
                        .map((id) => names.get(id) ?? t("tokens.unknownDepartment"))
                        .join(", ")}
                </td>
                <td>{tok.pseudonymous ? t("tokens.pseudonymous") : t("tokens.realNames")}</td>
                <td>{tok.expiresAt ? dateTime(tok.expiresAt) : t("tokens.never")}</td>
                <td>{tok.lastUsedAt ? dateTime(tok.lastUsedAt) : t("tokens.notUsed")}</td>
                <td>{t(`tokens.state.${tokenState(tok, now)}`)}</td>
                <td>{tokenState(tok, now) !== "revoked" && <RevokeButton token={tok} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {created && <SecretOnce name={created.name} secret={created.secret} onDone={() => setCreated(null)} />}
      <CreateTokenForm
        departments={departments.data ?? []}
        onCreated={(name, secret) => setCreated({ name, secret })}
      />
    </>
  );
}

function RevokeButton(props: { token: z.infer<typeof apiToken> }) {
  const { t } = useUi();
  const client = useQueryClient();
  const [asking, setAsking] = useState(false);
  const revoke = useMutation({
    mutationFn: () =>
      data(api.DELETE("/api/v1/tokens/{id}", { params: { path: { id: props.token.id } } }), apiToken),
    onSuccess: () => client.invalidateQueries({ queryKey: queryKeys.tokens }),
  });
  if (!asking)
    return (
      <button type="button" onClick={() => setAsking(true)}>
        {t("tokens.revoke")}
      </button>
    );
  return (
    <fieldset className="confirm">
      <legend>{t("tokens.revokeAsk", { name: props.token.name })}</legend>
      <button type="button" className="danger" disabled={revoke.isPending} onClick={() => revoke.mutate()}>
        {t("tokens.revokeConfirm")}
      </button>{" "}
      <button type="button" onClick={() => setAsking(false)}>
        {t("common.cancel")}
      </button>
      {revoke.error && (
        <p className="error" role="alert">
          {errorText(revoke.error)}
        </p>
      )}
    </fieldset>
  );
}

/** The new token's secret, shown this once, with a copy button. */
function SecretOnce(props: { name: string; secret: string; onDone(): void }) {
  const { t } = useUi();
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = () =>
    navigator.clipboard.writeText(props.secret).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return (
    <section className="card" aria-labelledby="token-secret-title" data-testid="token-secret">
      <h2 id="token-secret-title">{t("tokens.createdTitle", { name: props.name })}</h2>
      <p>{t("common.shownOnce")}</p>
      <p>
        <code className="secret" data-testid="token-secret-value">
          {props.secret}
        </code>
      </p>
      <button type="button" className="primary" onClick={() => void copy()}>
        {t("tokens.copy")}
      </button>{" "}
      <button type="button" onClick={props.onDone}>
        {t("tokens.copiedDone")}
      </button>
      <p role="status">{copied === null ? "" : copied ? t("tokens.copied") : t("tokens.copyFailed")}</p>
    </section>
  );
}

/** Creates a token; the list is fetched again, and `onCreated` gets its secret (shown once). */
function useCreateToken(onCreated: (name: string, secret: string) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: TokenCreateBody) => data(api.POST("/api/v1/tokens", { body }), apiTokenCreated),
    onSuccess: (r) => {
      onCreated(r.token.name, r.secret);
      return client.invalidateQueries({ queryKey: queryKeys.tokens });
    },
  });
}

function CreateTokenForm(props: {
  departments: readonly z.infer<typeof department>[];
  onCreated(name: string, secret: string): void;
}) {
  const { t } = useUi();
  const id = useId();
  const form = useForm<TokenFormInput, unknown, TokenCreateBody>({
    resolver: zodResolver(tokenForm),
    defaultValues: emptyTokenForm(),
  });
  const create = useCreateToken((name, secret) => {
    props.onCreated(name, secret);
    form.reset(emptyTokenForm());
  });
  const values = form.watch();
  const errors = form.formState.errors;
  const fieldError = (field: keyof TokenFormInput) =>
    errors[field] ? (
      <p id={`${id}-${field}-error`} className="error small" role="alert">
        {t(tokenFieldError(field, values))}
      </p>
    ) : null;
  const described = (field: keyof TokenFormInput) =>
    errors[field] ? { "aria-describedby": `${id}-${field}-error`, "aria-invalid": true } : {};
  return (
    <form
      className="card"
      aria-labelledby={`${id}-title`}
      noValidate
      onSubmit={form.handleSubmit((body) => create.mutate(body))}
    >
      <h2 id={`${id}-title`}>{t("tokens.new")}</h2>
      <label htmlFor={`${id}-name`}>{t("common.name")}</label>
      <input id={`${id}-name`} {...form.register("name")} {...described("name")} />
      {fieldError("name")}
      <fieldset {...described("permissions")}>
        <legend>{t("tokens.permissions")}</legend>
        {TOKEN_PERMISSIONS.map((p) => (
          <label key={p} className="inline">
            <input type="checkbox" value={p} {...form.register("permissions")} />
            {t(`tokens.perm.${p}`)}
          </label>
        ))}
        {fieldError("permissions")}
      </fieldset>
      <TokenDepartments
        form={form}
        wholeOrganisation={values.wholeOrganisation}
        departments={props.departments}
        described={described("departmentIds")}
        error={fieldError("departmentIds")}
      />
      <label className="inline">
        <input type="checkbox" {...form.register("pseudonymous")} />
        {t("tokens.pseudonymousField")}
      </label>
      <p className="muted small">{t("tokens.pseudonymousHint")}</p>
      <label htmlFor={`${id}-expires`}>{t("tokens.expiresField")}</label>
      <input id={`${id}-expires`} type="date" {...form.register("expiresAt")} {...described("expiresAt")} />
      <p className="muted small">{t("tokens.expiresHint")}</p>
      {fieldError("expiresAt")}
      <button type="submit" className="primary" disabled={create.isPending}>
        {t("tokens.create")}
      </button>
      {create.error && (
        <p className="error" role="alert">
          {errorText(create.error)}
        </p>
      )}
    </form>
  );
}

/** The departments a token may see: the whole organisation, or the ones ticked in the tree. */
function TokenDepartments(props: {
  form: UseFormReturn<TokenFormInput, unknown, TokenCreateBody>;
  wholeOrganisation: boolean;
  departments: readonly z.infer<typeof department>[];
  described: object;
  error: ReactNode;
}) {
  const { t } = useUi();
  const { form } = props;
  return (
    <fieldset {...props.described}>
      <legend>{t("tokens.departments")}</legend>
      <label className="inline">
        <input type="checkbox" {...form.register("wholeOrganisation")} />
        {t("tokens.wholeOrganisation")}
      </label>
      {!props.wholeOrganisation &&
        departmentTree(props.departments).map(({ dept, depth }) => (
          <label key={dept.id} className="inline" style={{ marginInlineStart: `${depth * 1.25}em` }}>
            <input type="checkbox" value={dept.id} {...form.register("departmentIds")} />
            {dept.name}
          </label>
        ))}
      {props.error}
    </fieldset>
  );
}
