// What the agent's day adds to a call card from outside it (card.js stays the card's own):
// the talk and wrap-up timers in its header, and the "stale" mark while the link to the daemon
// is down (a ringing card must not look live when nothing tells it the call went on).

import { h, setText } from "./dom.js";
import { t } from "./i18n.js";
import { duration } from "./mycalls.js";

/** Talk time from the answer to the end, then wrap-up time until the card is closed. */
export class CardClock {
  constructor(card) {
    this.card = card;
    this.answeredAt = null; // epoch ms
    this.endedAt = null;
    this.el = h("span", { class: "call-timer", role: "timer", "aria-live": "off" });
    card.wrapEl.after(this.el);
  }

  answered(at = Date.now()) {
    this.answeredAt ??= at;
  }

  ended(at = Date.now()) {
    if (this.answeredAt !== null) this.endedAt ??= at;
  }

  /** Times the daemon logged (ISO strings), which beat what this tab saw: it may have opened
   * in the middle of the call. */
  logged(entry) {
    const answered = Date.parse(entry?.answered_at ?? "");
    const ended = Date.parse(entry?.ended_at ?? "");
    if (!Number.isNaN(answered)) this.answeredAt = answered;
    if (!Number.isNaN(ended) && this.answeredAt !== null) this.endedAt = ended;
  }

  /** The talk and wrap-up times so far (seconds), null before the answer. */
  times(now = Date.now()) {
    if (this.answeredAt === null) return null;
    const end = this.endedAt ?? now;
    const talk = (end - this.answeredAt) / 1000;
    const wrap = this.endedAt !== null && this.card.wrapUp ? (now - this.endedAt) / 1000 : null;
    return { talk, wrap };
  }

  tick(now = Date.now()) {
    const times = this.times(now);
    let text = "";
    if (times && times.wrap !== null) {
      text = t("Talk {talk} · Wrap-up {wrap}", { talk: duration(times.talk), wrap: duration(times.wrap) });
    } else if (times) {
      text = t("Talk {talk}", { talk: duration(times.talk) });
    }
    setText(this.el, text);
    this.el.classList.toggle("running", times !== null && this.endedAt === null);
    this.el.classList.toggle("wrapping", times?.wrap != null);
  }
}

/** The link is down: what the card says is the last thing known, not the call now. */
export function markStale(card) {
  card.element.classList.add("stale");
  if (!card.staleEl) {
    card.staleEl = h("span", { class: "badge stale-mark", text: t("Not live: may be out of date") });
    card.stateEl.after(card.staleEl);
  }
  if (card.stateEl.textContent !== card.staleState) {
    card.liveState = card.stateEl.textContent;
    card.staleState = t("{state} (last known)", { state: card.liveState });
    setText(card.stateEl, card.staleState);
  }
}

/** The link is back: the replay that follows brings the card up to date. */
export function markLive(card) {
  card.element.classList.remove("stale");
  card.staleEl?.remove();
  card.staleEl = null;
  if (card.staleState && card.stateEl.textContent === card.staleState) {
    setText(card.stateEl, card.liveState);
  }
  card.staleState = null;
}
