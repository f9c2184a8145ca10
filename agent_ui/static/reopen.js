// A call of "My calls" opened again: the state its card shows, and its card (a fresh lookup of
// the caller, or what the list knows when the lookup fails).

const REOPENED_STATE = {
  answered_elsewhere: "answered_elsewhere",
  abandoned: "abandoned",
  rang_out: "missed",
};

export function reopenedState(entry) {
  if (entry.outcome === "answered") return entry.ended_at ? "ended" : "answered";
  if (entry.outcome === "missed") return REOPENED_STATE[entry.reason] ?? "missed";
  return entry.outcome === "ringing" ? "ringing" : "ended";
}

export async function cardJson(entry) {
  const caller = entry.caller ?? {};
  if (caller.e164) {
    try {
      const response = await fetch(`/api/cards/${encodeURIComponent(caller.e164)}`);
      if (response.ok) return { ...(await response.json()), call_id: entry.call_id };
    } catch {
      // offline: the card shows what the list knows
    }
  }
  const withheld = { kind: caller.e164 ? "number" : "withheld", withheld: !caller.e164 };
  return {
    call_id: entry.call_id,
    caller: { ...withheld, e164: caller.e164, national: caller.national, name: caller.name },
    summary: {},
    sections: {},
    candidates: [],
    history: [],
  };
}
