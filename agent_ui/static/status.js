// The agent's status control in the top bar: Available, or Paused with a reason from
// `[ui] pause_reasons`. The daemon's `status` messages say what the PBX confirmed; until it
// does, the control says "pausing…" (or "unpausing…"); a refusal is shown as it came.

import { setText } from "./dom.js";
import { t } from "./i18n.js";

export class StatusControl {
  /** @param {{ send: (message: object) => boolean }} link */
  constructor(link) {
    this.link = link;
    this.root = document.getElementById("agent-status");
    if (!this.root) return; // an agent without a phone: nothing to pause
    this.text = document.getElementById("status-text");
    this.reason = document.getElementById("pause-reason");
    this.pause = document.getElementById("pause-button");
    this.unpause = document.getElementById("unpause-button");
    this.state = "available";
    this.failure = null; // the refusal shown, kept until the status changes or is asked again
    this.pause.addEventListener("click", () => this.ask({ type: "pause", reason: this.reason.value }));
    this.unpause.addEventListener("click", () => this.ask({ type: "unpause" }));
  }

  ask(message) {
    this.failure = null;
    if (!this.link.send(message)) {
      this.say(t("not connected, try again in a moment"), "failed");
      return;
    }
    this.say(message.type === "pause" ? t("pausing…") : t("unpausing…"), "pending");
  }

  /** After a (re)connect: available until the daemon says otherwise (it does when not). */
  reset() {
    this.failure = null;
    this.show({ state: "available", reason: null, pending: null });
  }

  /** A `status` message from the daemon. */
  show(message) {
    if (!this.root) return;
    const state = message.state === "paused" ? "paused" : "available";
    // after a refusal the daemon says "nothing pending" (and nothing changed): keep the refusal
    if (this.failure === state && message.pending == null) return;
    this.failure = null;
    this.state = state;
    const paused = state === "paused";
    this.root.dataset.state = this.state;
    this.pause.hidden = paused;
    this.reason.hidden = paused;
    this.unpause.hidden = !paused;
    if (message.pending === true) this.say(t("pausing…"), "pending");
    else if (message.pending === false) this.say(t("unpausing…"), "pending");
    else if (paused && message.reason) this.say(t("Paused ({reason})", { reason: t(message.reason) }));
    else this.say(paused ? t("Paused") : t("Available"));
  }

  /** The daemon refused a pause or an unpause (a bad reason, or the PBX said no). */
  failed(reason) {
    if (!this.root) return;
    this.failure = this.state;
    this.pause.hidden = this.state === "paused";
    this.reason.hidden = this.state === "paused";
    this.unpause.hidden = this.state !== "paused";
    this.say(t("Pause failed: {reason}", { reason }), "failed");
  }

  say(text, kind = "") {
    setText(this.text, text);
    this.text.className = `status-text ${kind}`.trim();
  }
}
