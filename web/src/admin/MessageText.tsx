import { useUi } from "../session/context";

/**
 * What a device sent (a refused message, an entry of its log), shown as text and never interpreted;
 * null when the API withheld it (the user may not see positions in the device's department).
 */
export function MessageText(props: { text: string | null; max: number }) {
  const { t } = useUi();
  if (props.text === null) return <span className="muted">{t("deadLetters.withheld")}</span>;
  return <code>{props.text.slice(0, props.max)}</code>;
}
