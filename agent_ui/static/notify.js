// Telling an agent whose tab is in the background that their phone rings: a browser
// notification (asked for once, from a click, and remembered) and an optional short ring tone
// made with WebAudio. Nothing happens while the tab is visible: the card itself is the news.

import { setText } from "./dom.js";
import { t } from "./i18n.js";

const NOTIFY_KEY = "screenpop:notify";
const SOUND_KEY = "screenpop:sound";

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage disabled: the choice lasts until the page is reloaded
  }
}

const supported = () => typeof window.Notification === "function";

export class Alerts {
  /**
   * @param {HTMLButtonElement} button  turns notifications on and off (asks the browser once)
   * @param {HTMLInputElement} sound  checkbox: ring tone on or off
   */
  constructor(button, sound) {
    this.button = button;
    this.sound = sound;
    this.notifyOn = stored(NOTIFY_KEY) === "on";
    this.audio = null;
    sound.checked = stored(SOUND_KEY) === "on";
    button.addEventListener("click", () => this.toggle());
    // after a reload the browser lets audio start only once the agent has touched the page
    document.addEventListener("pointerdown", () => {
      if (sound.checked) this.unlockAudio();
    });
    sound.addEventListener("change", () => {
      store(SOUND_KEY, sound.checked ? "on" : "off");
      if (sound.checked) this.unlockAudio(); // a click: the browser lets audio start now
    });
    this.show();
  }

  get permission() {
    return supported() ? window.Notification.permission : "unsupported";
  }

  /** Whether a pop now would be notified. */
  get active() {
    return this.notifyOn && this.permission === "granted";
  }

  async toggle() {
    if (this.notifyOn) {
      this.notifyOn = false;
      store(NOTIFY_KEY, "off");
    } else if (supported()) {
      const answer =
        this.permission === "default" ? await window.Notification.requestPermission() : this.permission;
      this.notifyOn = answer === "granted";
      store(NOTIFY_KEY, this.notifyOn ? "on" : "off");
    }
    this.show();
  }

  show() {
    const permission = this.permission;
    let text = t("Enable notifications");
    if (permission === "unsupported") text = t("Notifications not available in this browser");
    else if (permission === "denied") text = t("Notifications blocked by the browser");
    else if (this.active) text = t("Notifications on");
    setText(this.button, text);
    this.button.disabled = permission === "unsupported" || permission === "denied";
    this.button.setAttribute("aria-pressed", this.active ? "true" : "false");
  }

  /** A call pops: notify (and ring) if the tab is hidden. `tag` keeps one notice per call. */
  pop(title, body, tag) {
    if (!document.hidden) return;
    if (this.active) {
      try {
        const notice = new window.Notification(title, { body, tag, renotify: false });
        notice.addEventListener("click", () => {
          window.focus();
          notice.close();
        });
      } catch {
        // some browsers only notify from a service worker: the tone and the title still tell
      }
    }
    if (this.sound.checked) this.ring();
  }

  unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    this.audio ??= new Context();
    if (this.audio.state === "suspended") this.audio.resume();
    return this.audio;
  }

  /** Two short tones, well under a second. */
  ring() {
    const audio = this.unlockAudio();
    if (!audio) return;
    const start = audio.currentTime + 0.02;
    [880, 660].forEach((pitch, i) => {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      const at = start + i * 0.22;
      tone.frequency.value = pitch;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
      tone.connect(gain).connect(audio.destination);
      tone.start(at);
      tone.stop(at + 0.2);
    });
  }
}
