/**
 * Early decisions under repeated looks. The monitor looks at a bake every
 * 15 minutes; testing each look at the full alpha would reject a healthy new
 * side far more often than the spec says. Alpha is spent over the bake with a
 * Lan-DeMets spending function (O'Brien–Fleming-like by default, Pocock-like
 * on request), and each planned look may use only the alpha its slot adds:
 * α(t_k) − α(t_{k−1}). Those increments add up to α over the whole bake, so
 * by the union bound the chance of any early decision on a healthy side is
 * at most α, however strongly the looks (cumulative windows) are correlated.
 * This is more conservative than Lan-DeMets' exact boundaries, which need
 * the joint distribution of the looks; it needs none.
 */
import { normalQuantile, normalUpperTail } from "./normal.js";

export type SpendingFunction = "obrien-fleming" | "pocock";

/** How often the monitor looks, in seconds (its schedule). */
export const MONITOR_LOOK_SECONDS = 15 * 60;

/**
 * Alpha spent by information fraction `t` (elapsed / planned bake), for an
 * overall one-sided level `alpha`:
 * O'Brien–Fleming-like α(t) = 2 − 2Φ(z_{1−α/2} / √t), spending almost
 * nothing early; Pocock-like α(t) = α · ln(1 + (e − 1) t), spending evenly.
 */
export function spentAlpha(t: number, alpha: number, kind: SpendingFunction = "obrien-fleming"): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha ${alpha} must be inside (0, 1)`);
  if (t <= 0) return 0;
  if (t >= 1) return alpha;
  if (kind === "pocock") return alpha * Math.log(1 + (Math.E - 1) * t);
  const z = normalQuantile(1 - alpha / 2);
  // The tail's last-digit error must not spend more than alpha before the end.
  return Math.min(alpha, 2 * normalUpperTail(z / Math.sqrt(t)));
}

export interface LookLevel {
  /** 1-based planned look whose slot holds this moment. */
  look: number;
  /** Planned looks over the whole bake. */
  looks: number;
  /** Information fraction at the end of this look's slot, at most 1. */
  fraction: number;
  /** The level this look may test at: the alpha its slot adds. 0 once the bake's alpha is spent. */
  level: number;
  /** Alpha spent up to and including this look. */
  spent: number;
}

/**
 * The level of the look made `elapsedSeconds` into a bake of `bakeSeconds`
 * looked at every `lookEverySeconds`. Looks are counted on the schedule's
 * grid (slot k covers ((k−1)·step, k·step]), so the level of a look depends on
 * when it judges, not on how many runs came before.
 */
export function lookLevel(
  elapsedSeconds: number,
  bakeSeconds: number,
  alpha: number,
  kind: SpendingFunction = "obrien-fleming",
  lookEverySeconds = MONITOR_LOOK_SECONDS,
): LookLevel {
  if (!(bakeSeconds > 0)) throw new RangeError(`bake of ${bakeSeconds}s: must be longer than zero`);
  if (!(lookEverySeconds > 0))
    throw new RangeError(`looks every ${lookEverySeconds}s: must be longer than zero`);
  const looks = Math.ceil(bakeSeconds / lookEverySeconds);
  const look = Math.max(1, Math.ceil(elapsedSeconds / lookEverySeconds));
  const fraction = Math.min(1, (look * lookEverySeconds) / bakeSeconds);
  const before = Math.min(1, ((look - 1) * lookEverySeconds) / bakeSeconds);
  const spent = spentAlpha(fraction, alpha, kind);
  return { look, looks, fraction, level: Math.max(0, spent - spentAlpha(before, alpha, kind)), spent };
}
