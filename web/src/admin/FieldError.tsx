/**
 * A field the form refused: its message under it (in the console's words) and the aria-invalid and
 * aria-describedby that tie the field to the message, as the channel and token forms do.
 */
import type { FieldErrors, FieldValues } from "react-hook-form";

/** The field's accessibility attributes while the form refuses it, none otherwise. */
export function invalidProps<T extends FieldValues>(
  formId: string,
  errors: FieldErrors<T>,
  field: keyof T & string,
): { "aria-invalid"?: true; "aria-describedby"?: string } {
  return errors[field] ? { "aria-invalid": true, "aria-describedby": `${formId}-${field}-error` } : {};
}

/** The message under a refused field, or nothing. */
export function FieldError<T extends FieldValues>(props: {
  formId: string;
  errors: FieldErrors<T>;
  field: keyof T & string;
  text(field: keyof T & string): string;
}) {
  if (!props.errors[props.field]) return null;
  return (
    <p id={`${props.formId}-${props.field}-error`} className="error small" role="alert">
      {props.text(props.field)}
    </p>
  );
}
