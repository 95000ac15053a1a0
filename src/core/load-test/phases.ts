/**
 * The load a scenario asks for, from its `config.phases`: how long it runs
 * and how many virtual users arrive, so the achieved rate can be held
 * against the requested one (a saturated load generator is a failed test).
 */

export interface PhasePlan {
  /** Seconds the phases last in all, pauses included. */
  seconds: number;
  /** Virtual users the phases create. */
  arrivals: number;
  /** Arrivals per second over the whole run. */
  rate: number;
  /** One line per phase, for the summary. */
  phases: string[];
}

/** The scenario's phases cannot be read; names the file and the phase. */
export class ScenarioPhaseError extends Error {
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "ScenarioPhaseError";
  }
}

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600, hr: 3600 };

/** Artillery durations: a number of seconds, or a string such as "30s", "5m", "2min", "1h". */
export function artilleryDurationSeconds(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== "string") return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|hr)?\s*$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] ?? "s"]!;
}

function numberField(
  phase: Record<string, unknown>,
  field: string,
  path: string,
  index: number,
): number | undefined {
  const value = phase[field];
  if (value === undefined) return undefined;
  const parsed = typeof value === "string" && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  if (typeof parsed !== "number" || !Number.isFinite(parsed) || parsed < 0) {
    throw new ScenarioPhaseError(
      path,
      `config.phases[${index}].${field} ${JSON.stringify(value)} is not a non-negative number`,
    );
  }
  return parsed;
}

/** Reads the phases of a parsed scenario (`config.phases`). */
export function planPhases(scenario: unknown, path: string): PhasePlan {
  const config = (scenario as { config?: { phases?: unknown } } | undefined)?.config;
  const phases = config?.phases;
  if (!Array.isArray(phases) || phases.length === 0) {
    throw new ScenarioPhaseError(
      path,
      "config.phases is missing or empty: the requested rate cannot be known",
    );
  }
  let seconds = 0;
  let arrivals = 0;
  const lines: string[] = [];
  phases.forEach((raw, index) => {
    if (typeof raw !== "object" || raw === null) {
      throw new ScenarioPhaseError(path, `config.phases[${index}] is not an object`);
    }
    const phase = raw as Record<string, unknown>;
    const label = typeof phase.name === "string" ? phase.name : `phase ${index}`;
    if (phase.pause !== undefined) {
      const pause = artilleryDurationSeconds(phase.pause);
      if (pause === undefined)
        throw new ScenarioPhaseError(path, `config.phases[${index}].pause is not a duration`);
      seconds += pause;
      lines.push(`${label}: pause ${pause} s`);
      return;
    }
    const duration = artilleryDurationSeconds(phase.duration);
    if (duration === undefined) {
      throw new ScenarioPhaseError(
        path,
        `config.phases[${index}].duration ${JSON.stringify(phase.duration)} is not a duration (seconds or "30s", "5m")`,
      );
    }
    const count = numberField(phase, "arrivalCount", path, index);
    const rate = numberField(phase, "arrivalRate", path, index);
    const rampTo = numberField(phase, "rampTo", path, index);
    let phaseArrivals: number;
    if (count !== undefined) {
      phaseArrivals = count;
      lines.push(`${label}: ${count} arrivals over ${duration} s`);
    } else if (rate !== undefined) {
      phaseArrivals = rampTo !== undefined ? ((rate + rampTo) / 2) * duration : rate * duration;
      lines.push(`${label}: ${rate}${rampTo !== undefined ? ` → ${rampTo}` : ""}/s for ${duration} s`);
    } else {
      throw new ScenarioPhaseError(
        path,
        `config.phases[${index}] has neither arrivalRate nor arrivalCount nor pause`,
      );
    }
    seconds += duration;
    arrivals += phaseArrivals;
  });
  return { seconds, arrivals, rate: seconds > 0 ? arrivals / seconds : 0, phases: lines };
}
