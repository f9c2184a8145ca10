// Click-to-dial's form: the number typed, what became of it ("calling...", "call placed", or
// why not), over the agent's websocket.

import { setText } from "./dom.js";
import { t } from "./i18n.js";

export class Dialer {
  /**
   * @param {HTMLFormElement} form
   * @param {HTMLInputElement} input
   * @param {HTMLElement} status
   * @param {(message: object) => boolean} send false when the link is down
   */
  constructor(form, input, status, send) {
    this.input = input;
    this.status = status;
    this.send = send;
    this.dialling = false;
    /** What the pending dial called, to clear the box only if it still holds that. */
    this.dialled = "";
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.dial(input.value);
    });
  }

  show(text, kind = "") {
    setText(this.status, text);
    this.status.className = `dial-status ${kind}`.trim();
  }

  dial(number) {
    const text = String(number ?? "").trim();
    if (!text) {
      this.show(t("type a number first"), "failed");
      return;
    }
    if (!this.send({ type: "dial", number: text })) {
      this.show(t("not connected, try again in a moment"), "failed");
      return;
    }
    this.dialling = true;
    this.dialled = text;
    this.show(t("calling {number}…", { number: text }));
  }

  /** The daemon refused the dial, or the PBX did. */
  failed(reason) {
    this.dialling = false;
    this.show(reason, "failed");
  }

  /** An outbound call popped: the one dialled, if a dial is pending. The box is cleared only
   * if it still holds the number dialled: what the agent typed since stays. */
  placed() {
    if (!this.dialling) return;
    this.dialling = false;
    if (this.input.value.trim() === this.dialled) this.input.value = "";
    this.show(t("call placed"), "ok");
  }
}
