// Callback items (callers who gave up waiting, or whom nobody answered): the list on the agent
// page and on the board. The daemon sends `callbacks` (every open or taken item the agent sees)
// when the link (re)connects and when items are made or returned, and `callback` when one item
// changes. On the agent page an open item can be taken; a taken one of the agent's own can be
// called back (click-to-dial, the call linked to the item), released, or closed with a
// disposition. Every name and number goes in as text (dom.js).

import { duration } from "./board_format.js";
import { h, humanize, replaceChildren, setText } from "./dom.js";
import { formatDateTime } from "./format.js";
import { t } from "./i18n.js";

const REASONS = {
  abandoned: (wait) => t("Hung up after waiting {wait}", { wait }),
  missed: (wait) => t("Nobody answered ({wait})", { wait }),
};

export class CallbackList {
  /**
   * @param {HTMLElement} root  the section holding the list (hidden while there is none); its
   *   `data-me` names the agent, `data-dispositions` (JSON) the close choices
   * @param {((message: object) => boolean) | null} send  sends a client message; null: read only
   */
  constructor(root, send) {
    this.root = root;
    this.send = send;
    this.me = root?.dataset.me ?? "";
    this.dispositions = parseList(root?.dataset.dispositions);
    this.items = new Map(); // id -> item
    this.list = root?.querySelector("ol");
    this.title = root?.querySelector(".callbacks-count");
    this.status = root?.querySelector(".callbacks-status");
  }

  /** Take a stream message; true when it was about callbacks. */
  handle(message) {
    if (!this.root) return false;
    if (message.type === "callbacks") {
      this.items = new Map((message.items ?? []).map((item) => [item.id, item]));
    } else if (message.type === "callback" && message.item) {
      const item = message.item;
      if (item.state === "closed") this.items.delete(item.id);
      else this.items.set(item.id, item);
    } else return false;
    this.render();
    return true;
  }

  /** The daemon refused a message; true when it was one of ours. */
  failed(reason, about) {
    if (!String(about ?? "").startsWith("callback_")) return false;
    if (this.status) setText(this.status, reason);
    return true;
  }

  render() {
    const items = [...this.items.values()];
    this.root.hidden = items.length === 0;
    if (this.title) setText(this.title, t("Callbacks: {count}", { count: items.length }));
    replaceChildren(this.list, items.map((item) => this.row(item)));
  }

  row(item) {
    const summary = item.summary ?? {};
    const why = (REASONS[item.reason] ?? REASONS.abandoned)(duration(item.waited_s));
    const state = item.state === "taken" ? t("Taken by {agent}", { agent: item.taken_by }) : t("Open");
    return h(
      "li",
      { class: `callback ${item.state}`, "data-id": String(item.id) },
      h("span", { class: "callback-who", text: summary.name || item.e164 }),
      summary.customer_id
        ? h("span", { class: "callback-customer", text: summary.customer_id })
        : null,
      h("span", { class: "callback-number", text: item.e164 }),
      h("span", { class: "callback-queue", text: item.queue }),
      h("span", { class: "callback-why", text: `${why} · ${formatDateTime(item.created_at)}` }),
      h("span", { class: "callback-state", text: state }),
      this.send ? this.actions(item) : null,
    );
  }

  actions(item) {
    const act = (type, extra = {}) => () => {
      if (this.status) setText(this.status, "");
      this.send({ type, id: item.id, ...extra });
    };
    if (item.state === "open") {
      const take = h("button", { type: "button", onclick: act("callback_take"), text: t("Take") });
      return h("span", { class: "callback-actions" }, take);
    }
    if (item.taken_by !== this.me) return null;
    const choice = h(
      "select",
      { class: "callback-disposition", "aria-label": t("Disposition") },
      this.dispositions.map((d) => h("option", { value: d, text: humanize(d) })),
    );
    const close = () => act("callback_close", { disposition: choice.value })();
    const dialText = item.call_back_call_id ? t("Call back again") : t("Call back");
    return h(
      "span",
      { class: "callback-actions" },
      h("button", { type: "button", class: "callback-dial", onclick: act("callback_dial"), text: dialText }),
      h("button", { type: "button", onclick: act("callback_release"), text: t("Release") }),
      choice,
      h("button", { type: "button", onclick: close, text: t("Close") }),
    );
  }
}

function parseList(text) {
  try {
    const list = JSON.parse(text ?? "[]");
    return Array.isArray(list) ? list.map(String) : [];
  } catch {
    return [];
  }
}
