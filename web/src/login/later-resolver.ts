/**
 * A react-hook-form resolver for the login path's forms (forms.ts) that fetches the form's schema,
 * zod and the zod resolver when the form is first checked: the login page itself carries no zod
 * (src/login-size.test.ts). When that chunk cannot be fetched (offline, or a deploy removed it) the
 * form gets a root error of type "network", which the page words as a network problem.
 */
import type { FieldErrors, FieldValues, Resolver } from "react-hook-form";

type Forms = typeof import("./forms");

export function laterResolver<T extends FieldValues>(name: keyof Forms): Resolver<T> {
  return async (values, context, options) => {
    let resolver: Resolver<T>;
    try {
      const [{ zodResolver }, forms] = await Promise.all([
        import("@hookform/resolvers/zod"),
        import("./forms"),
      ]);
      resolver = zodResolver(forms[name]) as unknown as Resolver<T>;
    } catch {
      const errors = { root: { type: "network", message: "" } } as FieldErrors<T>;
      return { values: {}, errors };
    }
    return resolver(values, context, options);
  };
}
