import { LOCATOR_REASON_MIN_LENGTH } from "@vakt/schemas";
import { useState } from "react";
import { useUi } from "../session/context";

/** A locator says why before any position is fetched; the reason goes with every look-up. */
export function ReasonForm(props: { onReason(reason: string): void }) {
  const { t } = useUi();
  const [reason, setReason] = useState("");
  return (
    <form
      className="card reason"
      onSubmit={(e) => {
        e.preventDefault();
        if (reason.trim().length >= LOCATOR_REASON_MIN_LENGTH) props.onReason(reason.trim());
      }}
    >
      <h2>{t("reason.title")}</h2>
      <p>{t("reason.help")}</p>
      <label>
        {t("reason.label")}
        <textarea
          name="reason"
          required
          minLength={LOCATOR_REASON_MIN_LENGTH}
          aria-describedby="reason-min"
          maxLength={500}
          rows={3}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
      </label>
      <p id="reason-min" className="hint">
        {t("reason.tooShort", { min: LOCATOR_REASON_MIN_LENGTH })}
      </p>
      <button type="submit" className="primary" disabled={reason.trim().length < LOCATOR_REASON_MIN_LENGTH}>
        {t("reason.submit")}
      </button>
    </form>
  );
}
