/**
 * The console's texts at run time. Only the user's language is fetched (each dictionary is its own
 * chunk, loaded before the first render and again when someone switches language), so the login
 * page carries no dictionary it does not show. dict.ts registers both at once, for tests.
 */
import type { Lang } from "../format/time";
import type { MessageKey } from "./dict-en";

export type { Lang } from "../format/time";
export type { MessageKey } from "./dict-en";

type Dictionary = Readonly<Record<MessageKey, string>>;

const loaded: Partial<Record<Lang, Dictionary>> = {};
const loaders: Record<Lang, () => Promise<Dictionary>> = {
  en: () => import("./dict-en").then((m) => m.en),
  nb: () => import("./dict-nb").then((m) => m.nb),
};

export function registerDictionary(lang: Lang, dictionary: Dictionary): void {
  loaded[lang] = dictionary;
}

/** Fetches a language's dictionary once; afterwards translate() answers in it. */
export async function loadLanguage(lang: Lang): Promise<void> {
  if (!loaded[lang]) registerDictionary(lang, await loaders[lang]());
}

export function isLoaded(lang: Lang): boolean {
  return loaded[lang] !== undefined;
}

/** Any loaded dictionary: both have the same keys (dict.test.ts), so either says whether a key exists. */
const anyDictionary = (): Dictionary | undefined => loaded.nb ?? loaded.en;

/** Whether a key built at run time (`problem.${code}`, `enum.action.${code}`) is one of the dictionary's. */
export function hasMessage(key: string): key is MessageKey {
  const dict = anyDictionary();
  return dict !== undefined && Object.hasOwn(dict, key);
}

/** Fills {placeholders}; an unknown placeholder is left as written so it shows in review. */
export function interpolate(text: string, vars?: Record<string, string | number>): string {
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    vars[name] === undefined ? whole : String(vars[name]),
  );
}

const pluralRules = { en: new Intl.PluralRules("en-GB"), nb: new Intl.PluralRules("nb-NO") };
/** The placeholders that carry a count, in the order a text's plural form is chosen by. */
const countVars = ["count", "n", "hours", "days"] as const;

/**
 * A text in a language with its placeholders filled. Where a count is given and
 * the dictionary has a form for its plural category ("key#one"), that form is
 * used: Intl.PluralRules decides, so "1 recipients" cannot happen.
 */
export function translate(lang: Lang, key: MessageKey, vars?: Record<string, string | number>): string {
  // The language is loaded before the console switches to it; the other one is a stopgap, never a key.
  const dict: Record<string, string> | undefined = loaded[lang] ?? anyDictionary();
  if (!dict) return key;
  const count = countVars.map((v) => vars?.[v]).find((v) => typeof v === "number");
  const form = typeof count === "number" ? dict[`${key}#${pluralRules[lang].select(count)}`] : undefined;
  return interpolate(form ?? dict[key] ?? key, vars);
}

export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "").sort();
}
