/**
 * Durations in the spec are strings such as "30s", "15m", "48h", "7d" or
 * combinations ("1h30m"). They are parsed once, at validation, into seconds.
 */
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;
const DURATION_PATTERN = /^(?:\d+[smhdw])+$/;
const PART_PATTERN = /(\d+)([smhdw])/g;

/** Parses a duration string into whole seconds, or returns undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_PATTERN.test(text)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(PART_PATTERN)) {
    seconds += Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
  }
  return seconds;
}

/** Like {@link parseDuration} but throws with the offending text; for values already validated. */
export function durationSeconds(text: string): number {
  const seconds = parseDuration(text);
  if (seconds === undefined) {
    throw new Error(
      `"${text}" is not a duration: use a number and a unit (s, m, h, d, w), e.g. "90s", "48h", "1h30m"`,
    );
  }
  return seconds;
}

/** Renders seconds as a short human duration: 172800 → "2d", 5400 → "1h30m". */
export function formatDuration(totalSeconds: number): string {
  if (totalSeconds <= 0) return "0s";
  let rest = Math.round(totalSeconds);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("");
}

/** The description used in error messages for what a duration may look like. */
export const DURATION_HINT = 'a duration such as "30s", "15m", "48h", "7d" or "1h30m"';
