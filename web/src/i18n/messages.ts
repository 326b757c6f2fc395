/**
 * The console's texts at run time. Only the user's language is fetched, in two parts: its gate
 * (dict-gate.ts: what the pages before login show) before the first render, and the whole
 * dictionary before the logged-in console renders (App.tsx) and again when someone switches
 * language. So the login page waits for neither the other language nor the console's thousand
 * texts. dict.ts registers both whole dictionaries at once, for tests.
 */
import type { Lang } from "../format/time";
import type { MessageKey } from "./dict-en";

export type { Lang } from "../format/time";
export type { MessageKey } from "./dict-en";

type Dictionary = Readonly<Record<MessageKey, string>>;
type Texts = Readonly<Partial<Record<MessageKey, string>>>;

const loaded: Partial<Record<Lang, Dictionary>> = {};
const gates: Partial<Record<Lang, Texts>> = {};
const loaders: Record<Lang, () => Promise<Dictionary>> = {
  en: () => import("./dict-en").then((m) => m.en),
  nb: () => import("./dict-nb").then((m) => m.nb),
};
const gateLoaders: Record<Lang, () => Promise<Texts>> = {
  en: () => import("./dict-gate").then((m) => m.enGate),
  nb: () => import("./dict-gate-nb").then((m) => m.nbGate),
};
const fetching = new Map<Lang, Promise<void>>();

export function registerDictionary(lang: Lang, dictionary: Dictionary): void {
  loaded[lang] = dictionary;
}

/**
 * Fetches a language's whole dictionary once (one request however many ask at once); afterwards
 * translate() answers every key in it. A failed fetch is asked again by the next caller.
 */
export function loadLanguage(lang: Lang): Promise<void> {
  if (loaded[lang]) return Promise.resolve();
  let pending = fetching.get(lang);
  if (!pending) {
    pending = loaders[lang]().then(
      (dictionary) => registerDictionary(lang, dictionary),
      (err: unknown) => {
        fetching.delete(lang);
        throw err;
      },
    );
    fetching.set(lang, pending);
  }
  return pending;
}

/** Fetches a language's gate texts (those before login) once, unless its whole dictionary is here. */
export async function loadGate(lang: Lang): Promise<void> {
  if (!loaded[lang] && !gates[lang]) gates[lang] = await gateLoaders[lang]();
}

/** Whether a language's whole dictionary is here (its gate alone is not enough). */
export function isLoaded(lang: Lang): boolean {
  return loaded[lang] !== undefined;
}

/** Where a language's texts are looked up, best first: its own, then any loaded whole dictionary. */
const sources = (lang: Lang): Texts[] =>
  [loaded[lang], gates[lang], loaded.nb, loaded.en, gates.nb, gates.en].filter(
    (d): d is Texts => d !== undefined,
  );

/** Whether a key built at run time (`problem.${code}`, `enum.action.${code}`) is one of the dictionary's. */
export function hasMessage(key: string): key is MessageKey {
  return sources("nb").some((d) => Object.hasOwn(d, key));
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
  // The language is loaded before the console switches to it; another one is a stopgap, never a key.
  // A plural form comes from the dictionary the text comes from, never from the other language.
  const dict: Texts | undefined = sources(lang).find((d) => Object.hasOwn(d, key));
  if (!dict) return key;
  const count = countVars.map((v) => vars?.[v]).find((v) => typeof v === "number");
  const form =
    typeof count === "number"
      ? (dict as Record<string, string>)[`${key}#${pluralRules[lang].select(count)}`]
      : undefined;
  return interpolate(form ?? dict[key] ?? key, vars);
}

export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "").sort();
}
