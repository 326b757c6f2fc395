/** A confirmation that outlives a navigation (e.g. "processing restricted", shown on the live map). */
import { useEffect, useState } from "react";
import { useUi } from "../session/context";

let current: string | null = null;
const listeners = new Set<() => void>();

export function flash(message: string | null) {
  current = message;
  for (const l of listeners) l();
}

export function Flash() {
  const { t } = useUi();
  const [message, setMessage] = useState(current);
  useEffect(() => {
    const update = () => setMessage(current);
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  if (!message) return null;
  return (
    <p className="notice flash" role="status" data-testid="flash">
      {message}{" "}
      <button type="button" onClick={() => flash(null)}>
        {t("common.close")}
      </button>
    </p>
  );
}
