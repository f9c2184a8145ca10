// The board's pause controls: for a supervisor whose role has `manage_agents`, a Pause button
// (with a reason from `[ui] pause_reasons`) or an Unpause button on each agent's row; the
// daemon applies it at the PBX, and the next board snapshot shows the agent paused.
// The page says whether it may, and which reasons, in `<script id="pause-config">`.

import { h, setText } from "./dom.js";
import { t } from "./i18n.js";

function readConfig() {
  try {
    const parsed = JSON.parse(document.getElementById("pause-config")?.textContent || "{}");
    return {
      manage: parsed.manage === true,
      reasons: Array.isArray(parsed.reasons) ? parsed.reasons.map(String) : [],
    };
  } catch {
    return { manage: false, reasons: [] };
  }
}

export class BoardPause {
  /** @param {(message: object) => boolean} send */
  constructor(send) {
    this.send = send;
    this.config = readConfig();
    this.problem = h("p", { class: "pause-problem", role: "alert", hidden: true });
    document.getElementById("agents")?.before(this.problem);
  }

  /** The reason and the controls for one agent's row (null for an agent nobody may pause). */
  /** The row's Pause / Unpause controls (the row itself shows a paused agent's reason). */
  controls(agent) {
    if (!this.config.manage || agent.state === "offline") return null;
    if (agent.state === "paused") {
      const unpause = () => this.ask({ type: "unpause", agent: agent.id });
      return h("span", { class: "pause-controls" },
        h("button", { type: "button", class: "unpause", onclick: unpause, text: t("Unpause") }));
    }
    const select = h("select", { class: "pause-reason", "aria-label": t("Pause reason for {name}", { name: agent.name }) },
      this.config.reasons.map((r) => h("option", { value: r, text: t(r) })));
    const pause = () => this.ask({ type: "pause", agent: agent.id, reason: select.value });
    return h("span", { class: "pause-controls" }, select,
      h("button", { type: "button", class: "pause", onclick: pause, text: t("Pause") }));
  }

  ask(message) {
    this.problem.hidden = true;
    if (!this.send(message)) this.failed(t("not connected, try again in a moment"), message.type);
  }

  /** The daemon refused a message; only pauses and unpauses are ours to show. */
  failed(reason, about) {
    if (about !== "pause" && about !== "unpause") return;
    setText(this.problem, t("Pause failed: {reason}", { reason }));
    this.problem.hidden = false;
  }
}
