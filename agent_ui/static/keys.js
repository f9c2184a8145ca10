// Keyboard shortcuts of the agent desktop. Single keys act only when the focus is not in a text
// field; Esc leaves a text field first, then closes a finished card.

const KEYS = ["n", "c", "d", "j", "k", "?"];

function typingIn(target) {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))
  );
}

/**
 * @param {{note: () => void, close: () => void, dial: () => void, help: () => void,
 *          next: () => void, previous: () => void, pick: (n: number) => boolean,
 *          leave: (field: HTMLElement) => void, modal: () => boolean}} actions
 *   `pick(n)` picks candidate n of the current card (false when there is none);
 *   `leave(field)` moves the focus out of a text field; `modal()` is true while a dialog is open.
 */
export function installShortcuts(actions) {
  const byKey = {
    n: actions.note,
    c: actions.close,
    d: actions.dial,
    j: actions.next,
    k: actions.previous,
    "?": actions.help,
  };
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing || actions.modal()) return;
    const typing = typingIn(event.target);
    if (event.key === "Escape") {
      event.preventDefault();
      if (typing) actions.leave(event.target);
      else actions.close();
      return;
    }
    if (event.altKey && event.key.toLowerCase() === "n") {
      event.preventDefault();
      actions.note();
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (KEYS.includes(event.key)) {
      event.preventDefault();
      byKey[event.key]();
    } else if (/^[1-9]$/.test(event.key) && actions.pick(Number(event.key))) {
      event.preventDefault();
    }
  });
}
