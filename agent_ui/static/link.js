// The websocket link to the daemon: reconnects with backoff and resumes from the last seq seen,
// so a dropped connection loses nothing and repeats nothing.

import { t } from "./i18n.js";

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const CLOSE_TOO_SLOW = 4000;
const CLOSE_SESSION_ENDED = 4001; // expired or changed session: back to the login form

export class Link {
  /**
   * @param {object} opts
   * @param {(msg: object, live: boolean) => void} opts.onMessage  stream messages in seq order;
   *   `live` is false for what this page replays from before it was opened
   * @param {(hello: object) => void} opts.onHello  after every (re)connect
   * @param {() => void} opts.onCaughtUp  once, when the page's initial replay is done
   * @param {(text: string, ok: boolean, phase: "connecting" | "connected" | "retrying") => void}
   *   opts.onStatus  `text` is in the page's language; `phase` says the same for the page's logic
   * @param {(reason: string, about: string | undefined) => void} opts.onError  the daemon refused
   *   a message we sent; `about` is that message's type when the daemon says
   * @param {() => void} [opts.onDown]  the link was lost (or could not be made): what the page
   *   shows may be out of date until `onUp`
   * @param {() => void} [opts.onUp]  the link is back (after its hello, before the replay)
   */
  constructor(opts) {
    this.opts = opts;
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    this.lastSeq = 0;
    this.replayUntil = null; // seq of the page's initial replay end; null until the first hello
    this.caughtUp = false;
    this.delay = MIN_DELAY_MS;
    this.failures = 0;
    this.socket = null;
    this.stopped = false;
    this.down = false;
  }

  start() {
    this.connect();
  }

  /** Close for good (logging out): no reconnect. */
  stop() {
    this.stopped = true;
    this.socket?.close(1000, "bye");
  }

  /** Send one message; false when not connected (the caller may retry later). */
  send(message) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  connect() {
    this.opts.onStatus(t("connecting…"), false, "connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => this.closed(event));
  }

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === "hello") {
      this.hello(message);
    } else if (message.type === "error") {
      const about = typeof message.about === "string" ? message.about : undefined;
      this.opts.onError(String(message.reason ?? t("error")), about);
    } else if (typeof message.seq === "number") {
      this.stream(message);
    }
  }

  hello(message) {
    this.failures = 0;
    this.delay = MIN_DELAY_MS;
    if (this.lastSeq > message.seq) this.lastSeq = 0; // the daemon restarted: its seqs did too
    if (this.replayUntil === null) {
      this.replayUntil = message.seq;
      this.maybeCaughtUp();
    }
    this.opts.onStatus(t("connected"), true, "connected");
    this.down = false;
    this.opts.onUp?.();
    this.opts.onHello(message);
    this.send({ type: "resume", last_seq: this.lastSeq });
  }

  stream(message) {
    if (message.seq <= this.lastSeq) return; // already seen
    this.lastSeq = message.seq;
    this.opts.onMessage(message, this.replayUntil === null || message.seq > this.replayUntil);
    this.maybeCaughtUp();
  }

  maybeCaughtUp() {
    if (!this.caughtUp && this.lastSeq >= this.replayUntil) {
      this.caughtUp = true;
      this.opts.onCaughtUp();
    }
  }

  closed(event) {
    this.socket = null;
    if (this.stopped) return;
    if (!this.down) {
      this.down = true;
      this.opts.onDown?.();
    }
    this.failures += 1;
    const wait = event.code === CLOSE_TOO_SLOW ? MIN_DELAY_MS : this.delay;
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    const jittered = wait * (0.75 + Math.random() * 0.5);
    const seconds = Math.ceil(jittered / 1000);
    this.opts.onStatus(t("disconnected, retrying in {seconds} s…", { seconds }), false, "retrying");
    if (this.failures >= 2 || event.code === CLOSE_SESSION_ENDED) this.checkSession();
    setTimeout(() => this.connect(), jittered);
  }

  async checkSession() {
    try {
      const response = await fetch(location.pathname, { redirect: "manual" });
      if (response.type === "opaqueredirect") location.assign("/");
    } catch {
      // offline: keep retrying
    }
  }
}
