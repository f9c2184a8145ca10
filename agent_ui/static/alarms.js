// The board's alarm banner and its optional tone. The daemon decides the alarms (queue, kind,
// level, value, limit) once per update; this module words them in the page's language, shows
// them above the board and, when the supervisor turned sound on, plays a short tone for each
// new red one. Sound is off by default and remembered by the browser.

import { count, duration, pct, queueLabel } from "./board_format.js";
import { h, replaceChildren, setText } from "./dom.js";
import { t } from "./i18n.js";

const SOUND_KEY = "screenpop.board.sound";

/** The banner's text for one alarm (the daemon's `text` is English, for scripts). */
export function alarmText(alarm) {
  const queue = queueLabel(alarm.queue);
  switch (alarm.kind) {
    case "waiting":
      return t("{queue}: {count} waiting (limit {limit})", {
        queue,
        count: count(alarm.value),
        limit: count(alarm.limit),
      });
    case "longest_wait_s":
      return t("{queue}: a caller has waited {wait} (limit {limit})", {
        queue,
        wait: duration(Math.ceil(alarm.value)), // past the limit, never shown as equal to it
        limit: duration(alarm.limit),
      });
    case "service_level":
      return t("{queue}: service level {value} (limit {limit})", {
        queue,
        value: pct(alarm.value),
        limit: pct(alarm.limit),
      });
    case "nobody_available":
      return t("{queue}: nobody available, {count} waiting", {
        queue,
        count: count(alarm.value),
      });
    default:
      return alarm.text ?? alarm.kind;
  }
}

export class AlarmBanner {
  constructor(banner, list, toggle) {
    this.banner = banner;
    this.list = list;
    this.sound = new Tone(toggle);
    this.shown = ""; // the alarms shown, as a key: the banner is rebuilt only when they change
    this.loud = new Set(); // queue/kind of the red alarms last shown
  }

  /** Show `alarms` (the snapshot's, red first); a new red one sounds. */
  show(alarms) {
    const key = JSON.stringify(alarms.map((a) => [a.queue, a.kind, a.level, a.value, a.limit]));
    const red = alarms.filter((a) => a.level === "alert");
    const loud = new Set(red.map((a) => `${a.queue}/${a.kind}`));
    if ([...loud].some((k) => !this.loud.has(k))) this.sound.play();
    this.loud = loud;
    if (key === this.shown) return;
    this.shown = key;
    this.banner.hidden = alarms.length === 0;
    this.banner.classList.toggle("has-alert", loud.size > 0);
    replaceChildren(
      this.list,
      alarms.map((a) =>
        h(
          "li",
          { class: `alarm lvl-${a.level}`, "data-queue": a.queue, "data-kind": a.kind },
          alarmText(a),
        ),
      ),
    );
  }
}

/** The alarm tone: off by default, on from the toggle (a click, so the browser lets it play). */
class Tone {
  constructor(toggle) {
    this.toggle = toggle;
    this.context = null;
    this.apply(localStorage.getItem(SOUND_KEY) === "on");
    toggle.addEventListener("click", () => {
      this.apply(!this.on);
      localStorage.setItem(SOUND_KEY, this.on ? "on" : "off");
      this.play(); // a sample, so the supervisor hears what it sounds like
    });
  }

  apply(on) {
    this.on = on;
    this.toggle.setAttribute("aria-pressed", String(on));
    setText(this.toggle, on ? t("Sound on") : t("Sound off"));
  }

  /** Two short beeps, made with WebAudio (no sound file); nothing while sound is off. */
  play() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!this.on || !Context) return;
    this.context ??= new Context();
    const ctx = this.context;
    for (const [start, freq] of [
      [0, 880],
      [0.3, 660],
    ]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.2, ctx.currentTime + start);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + start + 0.25);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + start);
      osc.stop(ctx.currentTime + start + 0.25);
    }
  }
}
