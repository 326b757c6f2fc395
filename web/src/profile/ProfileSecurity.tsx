import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  loginResponse,
  meResponse,
  organisation,
  otherSessionsEnded,
  ownSession,
  secondFactorRequest,
  totpDisabled,
  totpDisableRequest,
  totpSetupResponse,
} from "@vakt/schemas";
import { useId, useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { ApiProblem, setCsrfToken } from "../api/client";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import type { MessageKey } from "../i18n/dict";
import { useSession, useUi } from "../session/context";
import { QrCode } from "./QrCode";
import { browserName } from "./user-agent";

type Code = z.infer<typeof secondFactorRequest>;
const ADMIN_ROLES = new Set(["org_admin", "dept_admin"]);

/** A refused code in words: a wrong code is the common case and says what to check. */
function codeProblem(t: (k: MessageKey) => string, e: unknown): string {
  if (e instanceof ApiProblem && e.status === 400) return t("totp.wrongCode");
  return e instanceof Error ? e.message : String(e);
}

/** "Login and security" on the profile: the authenticator app and the sessions the person has open. */
export function ProfileSecurity() {
  const { t } = useUi();
  return (
    <section className="card" aria-labelledby="profile-security-title" data-testid="profile-security">
      <h2 id="profile-security-title">{t("profile.security")}</h2>
      <SecondFactor />
      <OwnSessions />
    </section>
  );
}

function SecondFactor() {
  const { t } = useUi();
  const session = useSession();
  const me = useQuery({
    queryKey: queryKeys.me,
    queryFn: () => data(api.GET("/api/v1/auth/me"), meResponse),
    initialData: session.me,
  });
  const org = useQuery({
    queryKey: queryKeys.organisation,
    queryFn: () => data(api.GET("/api/v1/organisation"), organisation),
  });
  const on = me.data.user.secondFactorEnabled;
  const required =
    org.data?.requireAdminSecondFactor === true && me.data.grants.some((g) => ADMIN_ROLES.has(g.role));
  return (
    <div data-testid="totp" data-enabled={on}>
      <h3>{t("totp.title")}</h3>
      <p role="status">{on ? t("totp.on") : t("totp.off")}</p>
      {on ? required ? <p className="muted">{t("totp.required")}</p> : <DisableTotp /> : <EnrolTotp />}
    </div>
  );
}

function EnrolTotp() {
  const { t } = useUi();
  const id = useId();
  const client = useQueryClient();
  const setup = useMutation({
    mutationFn: () => data(api.POST("/api/v1/auth/totp/setup"), totpSetupResponse),
  });
  const form = useForm<Code>({ resolver: zodResolver(secondFactorRequest), defaultValues: { code: "" } });
  const enable = useMutation({
    mutationFn: (body: Code) =>
      data(
        api.POST("/api/v1/auth/totp/enable", { body }),
        z.object({ enabled: z.literal(true), session: loginResponse.nullable() }),
      ),
    onSuccess: (r) => {
      if (r.session) setCsrfToken(r.session.csrfToken);
      return client.invalidateQueries({ queryKey: queryKeys.me });
    },
  });
  if (!setup.data)
    return (
      <>
        <button type="button" disabled={setup.isPending} onClick={() => setup.mutate()}>
          {t("totp.start")}
        </button>
        {setup.error && (
          <p className="error" role="alert">
            {codeProblem(t, setup.error)}
          </p>
        )}
      </>
    );
  return (
    <form noValidate onSubmit={form.handleSubmit((body) => enable.mutate(body))}>
      <p>{t("totp.scan")}</p>
      <QrCode text={setup.data.otpauthUri} label={t("totp.qr")} />
      <p>
        {t("totp.secret")}: <code data-testid="totp-secret">{setup.data.secret}</code>
      </p>
      <CodeField id={id} form={form} />
      <button type="submit" className="primary" disabled={enable.isPending}>
        {t("totp.confirm")}
      </button>
      {enable.error && (
        <p className="error" role="alert">
          {codeProblem(t, enable.error)}
        </p>
      )}
    </form>
  );
}

function DisableTotp() {
  const { t } = useUi();
  const id = useId();
  const client = useQueryClient();
  const form = useForm<Code>({ resolver: zodResolver(totpDisableRequest), defaultValues: { code: "" } });
  const disable = useMutation({
    mutationFn: (body: Code) => data(api.POST("/api/v1/auth/totp/disable", { body }), totpDisabled),
    onSuccess: () =>
      Promise.all([
        client.invalidateQueries({ queryKey: queryKeys.me }),
        client.invalidateQueries({ queryKey: queryKeys.ownSessions }),
      ]),
  });
  return (
    <form noValidate onSubmit={form.handleSubmit((body) => disable.mutate(body))}>
      <p className="muted small">{t("totp.disableHint")}</p>
      <CodeField id={id} form={form} />
      <button type="submit" className="danger" disabled={disable.isPending}>
        {t("totp.disable")}
      </button>
      {disable.error && (
        <p className="error" role="alert">
          {codeProblem(t, disable.error)}
        </p>
      )}
    </form>
  );
}

function CodeField(props: { id: string; form: ReturnType<typeof useForm<Code>> }) {
  const { t } = useUi();
  const error = props.form.formState.errors.code;
  return (
    <>
      <label htmlFor={`${props.id}-code`}>{t("totp.code")}</label>
      <input
        id={`${props.id}-code`}
        inputMode="numeric"
        autoComplete="one-time-code"
        maxLength={6}
        {...props.form.register("code")}
        {...(error ? { "aria-invalid": true, "aria-describedby": `${props.id}-code-error` } : {})}
      />
      {error && (
        <p id={`${props.id}-code-error`} className="error small" role="alert">
          {t("totp.error.code")}
        </p>
      )}
    </>
  );
}

function OwnSessions() {
  const { t, dateTime } = useUi();
  const client = useQueryClient();
  const [ended, setEnded] = useState<number | null>(null);
  const sessions = useQuery({
    queryKey: queryKeys.ownSessions,
    queryFn: () => data(api.GET("/api/v1/auth/sessions"), z.array(ownSession)),
  });
  const logoutOthers = useMutation({
    mutationFn: () => data(api.POST("/api/v1/auth/logout-others"), otherSessionsEnded),
    onSuccess: (r) => {
      setEnded(r.sessionsEnded);
      return client.invalidateQueries({ queryKey: queryKeys.ownSessions });
    },
  });
  const list = sessions.data ?? [];
  const others = list.filter((s) => !s.current).length;
  const name = (ua: string | null) => {
    const { browser, system } = browserName(ua);
    if (browser && system) return t("sessions.on", { browser, system });
    return browser ?? system ?? t("sessions.unknownBrowser");
  };
  return (
    <div data-testid="own-sessions">
      <h3>{t("sessions.title")}</h3>
      {sessions.error && (
        <p className="error" role="alert">
          {sessions.error.message}
        </p>
      )}
      {list.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>{t("sessions.browser")}</th>
              <th>{t("sessions.address")}</th>
              <th>{t("sessions.started")}</th>
              <th>{t("sessions.lastSeen")}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.id} data-testid="own-session" data-current={s.current}>
                <td>
                  {name(s.userAgent)}
                  {s.current && <strong> ({t("sessions.current")})</strong>}
                  {s.stage !== "active" && <span className="muted"> ({t("sessions.waiting")})</span>}
                </td>
                <td>{s.ip ?? "–"}</td>
                <td>{dateTime(s.createdAt)}</td>
                <td>{dateTime(s.lastSeenAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {sessions.data && others === 0 && <p className="muted">{t("sessions.onlyThis")}</p>}
      <button
        type="button"
        disabled={logoutOthers.isPending || others === 0}
        onClick={() => logoutOthers.mutate()}
      >
        {t("sessions.logoutOthers")}
      </button>
      <p role="status">{ended === null ? "" : t("sessions.loggedOutOthers", { count: ended })}</p>
      {logoutOthers.error && (
        <p className="error" role="alert">
          {logoutOthers.error.message}
        </p>
      )}
    </div>
  );
}
