// The pages' words in the reader's language, and the locale and time zone to show numbers and
// dates in. Write every piece of page text as `t("English text", { name: value })`: the English
// text is the key, `{name}` placeholders are filled from `params`. The page carries its catalog
// (English text to translated text) in `<script type="application/json" id="messages">`; text
// the catalog does not know is shown in English.

const catalog = readCatalog();

function readCatalog() {
  const node = document.getElementById("messages");
  if (!node) return {};
  try {
    const parsed = JSON.parse(node.textContent || "{}");
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

/** `text` in the page's language, with `{name}` placeholders replaced by `params[name]`. */
export function t(text, params = {}) {
  const template = Object.hasOwn(catalog, text) ? catalog[text] : text;
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

/** The page's locale (BCP 47), for `Intl` number and date formats. */
export function pageLocale() {
  return document.documentElement.lang || "en";
}

/** The center's IANA time zone (`[ui] timezone`), or undefined for the browser's own. */
export function pageTimeZone() {
  return document.body.dataset.timezone || undefined;
}
