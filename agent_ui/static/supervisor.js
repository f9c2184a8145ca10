// The queue board (placeholder): shows the latest `board` snapshot as it arrives.

import { h, renderValue, replaceChildren } from "./dom.js";
import { Link } from "./link.js";

const board = document.getElementById("board");
const updated = document.getElementById("board-updated");
const linkStatus = document.getElementById("link-status");

function show(snapshot) {
  const parts = Object.entries(snapshot ?? {}).map(([key, value]) =>
    h("section", { class: "panel" }, h("h2", { text: key }), renderValue(value)),
  );
  replaceChildren(board, parts);
  updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

new Link({
  onHello: () => {},
  onMessage: (message) => {
    if (message.type === "board") show(message.board);
  },
  onCaughtUp: () => {},
  onStatus: (text, ok) => {
    linkStatus.textContent = text;
    linkStatus.classList.toggle("ok", ok);
  },
  onError: () => {},
}).start();
