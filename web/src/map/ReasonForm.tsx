import { zodResolver } from "@hookform/resolvers/zod";
import { LOCATOR_REASON_MIN_LENGTH } from "@vakt/schemas";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { useUi } from "../session/context";
import { type ReasonFormInput, type ReasonFormOutput, reasonError, reasonForm } from "./reason-form";

/** A locator says why before any position is fetched; the reason goes with every look-up. */
export function ReasonForm(props: { onReason(reason: string): void }) {
  const { t } = useUi();
  const id = useId();
  const form = useForm<ReasonFormInput, unknown, ReasonFormOutput>({
    resolver: zodResolver(reasonForm),
    defaultValues: { reason: "" },
  });
  const error = form.formState.errors.reason;
  return (
    <form className="card reason" noValidate onSubmit={form.handleSubmit((r) => props.onReason(r.reason))}>
      <h2>{t("reason.title")}</h2>
      <p>{t("reason.help")}</p>
      <label>
        {t("reason.label")}
        <textarea
          rows={3}
          {...form.register("reason")}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-hint ${id}-error` : `${id}-hint`}
        />
      </label>
      <p id={`${id}-hint`} className="hint">
        {t("reason.tooShort", { min: LOCATOR_REASON_MIN_LENGTH })}
      </p>
      {error && (
        <p id={`${id}-error`} className="error small" role="alert">
          {t(reasonError(form.getValues("reason")), { min: LOCATOR_REASON_MIN_LENGTH })}
        </p>
      )}
      <button type="submit" className="primary">
        {t("reason.submit")}
      </button>
    </form>
  );
}
