// The desk bar's customer search: `/` focuses the box; the customers found (GET /api/search)
// are listed; a result opens that customer's card, and "This is the caller" links the customer
// to the call on screen whose caller is unknown or shared (POST /api/calls/{id}/link).

import { h, setText } from "./dom.js";
import { t } from "./i18n.js";

const MIN_CHARS = 2;
const MAX_CHARS = 100;

function typingIn(target) {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))
  );
}

function failures(sections) {
  return Object.entries(sections ?? {})
    .filter(([, s]) => s.status !== "ok")
    .map(([name, s]) => `${name}: ${s.status === "timeout" ? t("no answer in time") : s.error || s.status}`);
}

/**
 * @param {{form: HTMLFormElement, input: HTMLInputElement, list: HTMLOListElement,
 *          status: HTMLElement, open: (result: object) => void,
 *          target: () => ({callId: string} | undefined)}} parts
 *   `open(result)` shows the customer's card; `target()` is the call a result may be linked to
 *   (ringing or answered, its caller unknown or shared), if any.
 */
export function installSearch(parts) {
  const { form, input, list, status } = parts;
  let asked = 0;

  function say(text, kind = "") {
    setText(status, text);
    status.className = `search-status ${kind}`.trim();
  }

  async function link(callId, result, button) {
    button.disabled = true;
    try {
      const response = await fetch(`/api/calls/${encodeURIComponent(callId)}/link`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ customer_id: result.customer_id }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.error || String(response.status));
      say(t("Linked: the next call from this number pops {name}", { name: result.name || result.customer_id }), "done");
    } catch (error) {
      say(t("Not linked: {reason}", { reason: error.message }), "failed");
      button.disabled = false;
    }
  }

  function row(result) {
    const numbers = Array.isArray(result.numbers) ? result.numbers : [];
    const target = parts.target();
    return h(
      "li",
      { class: "search-result", "data-customer-id": result.customer_id },
      h(
        "button",
        { type: "button", class: "link-button open-result", onclick: () => parts.open(result) },
        h("strong", { text: result.name || t("(no name)") }),
        " ",
        h("span", { class: "muted", text: result.customer_id }),
      ),
      numbers.length ? h("span", { class: "result-numbers", text: numbers.join(", ") }) : null,
      h("span", { class: "result-sections muted", text: (result.sections ?? []).join(", ") }),
      target
        ? h("button", {
            type: "button",
            class: "link-caller",
            text: t("This is the caller"),
            onclick: (event) => link(target.callId, result, event.currentTarget),
          })
        : null,
    );
  }

  function show(answer) {
    list.replaceChildren(...answer.results.map(row));
    list.hidden = answer.results.length === 0;
    const failed = failures(answer.sections);
    const count = answer.results.length;
    const found =
      count > 1 ? t("{count} customers found", { count }) : count ? t("1 customer found") : t("Nobody found");
    say(failed.length ? `${found} (${failed.join("; ")})` : found, failed.length ? "partial" : "");
  }

  async function search(q) {
    const text = q.trim();
    if (text.length < MIN_CHARS || text.length > MAX_CHARS) {
      say(t("Type at least 2 characters"), "failed");
      return;
    }
    const mine = ++asked;
    say(t("Searching…"));
    try {
      const response = await fetch(`/api/search?q=${encodeURIComponent(text)}`);
      const body = await response.json();
      if (mine !== asked) return; // a newer search was started meanwhile
      if (!response.ok) throw new Error(body.error || String(response.status));
      show(body);
    } catch (error) {
      if (mine === asked) say(t("Search failed: {reason}", { reason: error.message }), "failed");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(input.value);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.defaultPrevented || typingIn(event.target)) return;
    if (event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) return;
    event.preventDefault();
    input.focus();
    input.select();
  });
  return { search };
}
