import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { erasureRecord } from "@vakt/schemas";
import { useId, useState } from "react";
import { type FieldError, type UseFormRegisterReturn, useForm } from "react-hook-form";
import { z } from "zod";
import { errorText } from "../admin/queries";
import { api, data } from "../api/typed";
import { can, useSession, useUi } from "../session/context";
import { flash } from "../ui/flash";
import { navigate } from "../ui/router";
import { type ExportFormat, exportFilename, exportPeriods, exportQuery, saveFile } from "./privacy";
import {
  type EraseBody,
  type EraseFormInput,
  eraseForm,
  type RestrictBody,
  type RestrictFormInput,
  restrictForm,
} from "./privacy-form";

/**
 * The recipient's GDPR actions, each shown by permission: export (recipient:manage),
 * restriction (recipient:manage) and erasure (organisation:manage).
 */
export function PrivacySection(props: { recipientId: string; name: string }) {
  const { t } = useUi();
  const session = useSession();
  const manage = can(session, "recipient:manage");
  const erase = can(session, "organisation:manage");
  if (!manage && !erase) return null;
  return (
    <section aria-labelledby="rec-privacy" data-testid="privacy-section">
      <h2 id="rec-privacy">{t("privacy.title")}</h2>
      <div className="grid2">
        {manage && <ExportCard {...props} />}
        {manage && <RestrictCard {...props} />}
        {erase && <EraseCard {...props} />}
      </div>
    </section>
  );
}

/** A text field of a privacy form, its refusal said under it (aria-invalid, aria-describedby). */
function CheckedField(props: {
  label: string;
  field: UseFormRegisterReturn;
  error: FieldError | undefined;
  message: string;
  confirm?: boolean;
}) {
  const id = useId();
  return (
    <>
      <label>
        {props.label}
        <input
          {...props.field}
          {...(props.confirm ? { autoComplete: "off", spellCheck: false } : {})}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={props.error ? `${id}-error` : undefined}
        />
      </label>
      {props.error && (
        <p id={`${id}-error`} className="error small" role="alert">
          {props.message}
        </p>
      )}
    </>
  );
}

function ExportCard(props: { recipientId: string }) {
  const { t } = useUi();
  const [days, setDays] = useState<number>(exportPeriods[0]);
  const download = useMutation({
    mutationFn: async (format: ExportFormat) => {
      const now = new Date();
      const blob = await data(
        api.GET("/api/v1/privacy/recipients/{id}/export", {
          params: { path: { id: props.recipientId }, query: exportQuery(format, days, now) },
          parseAs: "blob",
        }),
        z.instanceof(Blob),
      );
      const file = exportFilename(props.recipientId, format, now);
      saveFile(blob, file);
      return file;
    },
  });
  const busy = download.isPending;
  const message = download.data
    ? t("privacy.downloaded", { file: download.data })
    : download.error
      ? t("common.error", { message: errorText(download.error) })
      : null;
  return (
    <div className="card" data-testid="privacy-export">
      <h3>{t("privacy.export")}</h3>
      <p className="muted small">{t("privacy.exportHelp")}</p>
      <label className="inline">
        {t("privacy.exportPeriod")}
        <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
          {exportPeriods.map((d) => (
            <option key={d} value={d}>
              {t("privacy.exportDays", { days: d })}
            </option>
          ))}
        </select>
      </label>
      <div className="form-row">
        <button type="button" disabled={busy} onClick={() => download.mutate("json")}>
          {t("privacy.downloadJson")}
        </button>
        <button type="button" disabled={busy} onClick={() => download.mutate("zip")}>
          {t("privacy.downloadZip")}
        </button>
      </div>
      {message && <p role="status">{message}</p>}
    </div>
  );
}

function RestrictCard(props: { recipientId: string; name: string }) {
  const { t } = useUi();
  const client = useQueryClient();
  const form = useForm<RestrictFormInput, unknown, RestrictBody>({
    resolver: zodResolver(restrictForm),
    defaultValues: { reason: "" },
  });
  const restrict = useMutation({
    mutationFn: (body: RestrictBody) =>
      data(
        api.PUT("/api/v1/privacy/recipients/{id}/restriction", {
          params: { path: { id: props.recipientId } },
          body,
        }),
        z.unknown(),
      ),
    onSuccess: () => {
      // The recipient is gone from every ordinary view now, this page included, and from the cache.
      flash(t("privacy.restricted", { name: props.name || props.recipientId }));
      navigate("/");
      client.removeQueries({ queryKey: ["recipients"] });
    },
  });
  // Busy until the page is left: a second click would restrict twice.
  const busy = restrict.isPending || restrict.isSuccess;
  const message = restrict.error ? t("common.error", { message: errorText(restrict.error) }) : null;
  return (
    <form
      className="card"
      noValidate
      data-testid="privacy-restrict"
      onSubmit={form.handleSubmit((body) => restrict.mutate(body))}
    >
      <h3>{t("privacy.restrict")}</h3>
      <p className="muted small">{t("privacy.restrictHelp")}</p>
      <p className="notice" role="note" data-testid="restrict-warning">
        {t("privacy.restrictWarning")}
      </p>
      <CheckedField
        label={t("privacy.reason")}
        field={form.register("reason")}
        error={form.formState.errors.reason}
        message={t("privacy.error.reason")}
      />
      <button type="submit" className="primary" disabled={busy}>
        {t("privacy.restrictSubmit")}
      </button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}

function EraseCard(props: { recipientId: string; name: string }) {
  const { t, dateTime } = useUi();
  const client = useQueryClient();
  const [schema] = useState(() => eraseForm(props.name, props.recipientId));
  const form = useForm<EraseFormInput, unknown, EraseBody>({
    resolver: zodResolver(schema),
    defaultValues: { reason: "", typed: "" },
  });
  const erase = useMutation({
    mutationFn: (body: EraseBody) =>
      data(
        api.POST("/api/v1/privacy/recipients/{id}/erasure", {
          params: { path: { id: props.recipientId } },
          body,
        }),
        erasureRecord,
      ),
    // The list no longer has them; the page's own reading goes with the page.
    onSuccess: () => client.invalidateQueries({ queryKey: ["recipients"], exact: true }),
  });
  const busy = erase.isPending;
  const message = erase.error ? t("common.error", { message: errorText(erase.error) }) : null;
  const record = erase.data ?? null;
  const expected = props.name || props.recipientId;
  if (record)
    return (
      <div className="card" role="status" data-testid="erasure-record">
        <h3>{t("privacy.erase")}</h3>
        <p>{t("privacy.erased")}</p>
        <dl className="facts">
          <dt>{t("privacy.subjectRef")}</dt>
          <dd>{record.subjectRef}</dd>
          <dt>{t("privacy.erasedAt")}</dt>
          <dd>{dateTime(record.erasedAt)}</dd>
          <dt>{t("privacy.reason")}</dt>
          <dd>{record.reason}</dd>
          <dt>{t("privacy.keptLegalBasis")}</dt>
          <dd>{record.keptLegalBasis}</dd>
          <dt>{t("privacy.counts")}</dt>
          <dd>
            {Object.entries(record.counts)
              .map(([k, n]) => `${k}: ${n}`)
              .join(", ") || "–"}
          </dd>
        </dl>
        <button type="button" className="primary" onClick={() => navigate("/")}>
          {t("privacy.backToLive")}
        </button>
      </div>
    );
  return (
    <form
      className="card"
      noValidate
      data-testid="privacy-erase"
      onSubmit={form.handleSubmit((body) => erase.mutate(body))}
    >
      <h3>{t("privacy.erase")}</h3>
      <p className="muted small">{t("privacy.eraseHelp")}</p>
      <CheckedField
        label={t("privacy.reason")}
        field={form.register("reason")}
        error={form.formState.errors.reason}
        message={t("privacy.error.reason")}
      />
      <CheckedField
        label={t("privacy.eraseConfirm", { name: expected })}
        field={form.register("typed")}
        error={form.formState.errors.typed}
        message={t("privacy.error.typed", { name: expected })}
        confirm
      />
      <button type="submit" className="danger" disabled={busy}>
        {t("privacy.eraseSubmit")}
      </button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}
