/**
 * Which migrations the monitor watches for a breach: pure, shared by the
 * selection of a scheduled or alarm-triggered run and by the monitor's decision.
 */
import type { MigrationStatus } from "../model/status.js";

/**
 * Whether a migration's live traffic is watched: some of it reaches the new side
 * and a rollback can still put it back. That is every state but done (whose old
 * side is deleted): a passed, applying or failed phase serves real requests on
 * the new side just as a baking one does.
 */
export function watched(status: MigrationStatus): boolean {
  return status.weights.new > 0 && status.state !== "done";
}
