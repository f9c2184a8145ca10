// The cards an agent closed, remembered in localStorage (per agent, the latest MAX_CLOSED) so
// the agent's other tabs, and this one after a reload, drop them too.

const MAX_CLOSED = 200;

export class ClosedCards {
  /** @param {() => string} agentId the signed-in agent's id ("" before the hello) */
  constructor(agentId) {
    this.agentId = agentId;
  }

  /** The storage key; a `storage` event for it means another tab closed a card. */
  key() {
    return `screenpop:closed:${this.agentId()}`;
  }

  /** The closed call ids (empty when storage is disabled or holds garbage). */
  ids() {
    try {
      const list = JSON.parse(localStorage.getItem(this.key()) ?? "[]");
      return new Set(Array.isArray(list) ? list : []);
    } catch {
      return new Set();
    }
  }

  remember(callId) {
    try {
      const list = [...this.ids(), callId].slice(-MAX_CLOSED);
      localStorage.setItem(this.key(), JSON.stringify(list));
    } catch {
      // storage disabled: other tabs keep their copy until the next call is answered
    }
  }
}
