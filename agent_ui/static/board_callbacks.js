// The board's callback items: who is waiting to be called back, per queue, and who took whom
// (read only: agents take them on their own page). See callbacks.js.

import { CallbackList } from "./callbacks.js";

/** The board's list, fed from the board's link (see supervisor.js). */
export const boardCallbacks = new CallbackList(document.getElementById("callbacks"), null);
