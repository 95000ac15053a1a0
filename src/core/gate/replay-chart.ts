/**
 * Charts of a gate replayed over history: a text chart for a terminal and an
 * SVG for job summaries and docs. One strip of verdicts (one cell per look),
 * then one line per metric against its pass bound. Pure: data in, text out.
 */

/** One metric at one look, reduced to what a chart shows. */
export interface ChartMetricPoint {
  name: string;
  /** "threshold" for the gate's metrics, the check's name for a compare metric. */
  check: string;
  /** The judged value (threshold metrics) or the change in the worse direction as a fraction (compare metrics). */
  value?: number;
  /** The pass bound the value is held against, in the same terms. */
  bound?: number;
  outcome: string;
  pValue?: number;
}

export interface ChartLook {
  at: string;
  verdict: string;
  decision: string;
  metrics: ChartMetricPoint[];
}

export interface ChartInput {
  title: string;
  looks: ChartLook[];
}

/** Cell of the verdict strip, per monitor decision and verdict. */
export function lookSymbol(look: Pick<ChartLook, "verdict" | "decision">): string {
  if (look.decision === "rollback") return "R";
  if (look.decision === "passed") return "P";
  switch (look.verdict) {
    case "pass":
      return "+";
    case "fail":
      return "x";
    case "insufficient-data":
      return "?";
    default:
      return "R";
  }
}

const BARS = "▁▂▃▄▅▆▇█";

interface Row {
  label: string;
  values: Array<number | undefined>;
  outcomes: string[];
  bound?: number;
  compare: boolean;
}

/** One row per metric, in the order of the first look. */
function rowsOf(input: ChartInput): Row[] {
  const keyOf = (p: ChartMetricPoint) => `${p.check}\u0000${p.name}`;
  const order: string[] = [];
  const byKey = new Map<string, Row>();
  input.looks.forEach((look, index) => {
    for (const point of look.metrics) {
      const key = keyOf(point);
      let row = byKey.get(key);
      if (!row) {
        row = {
          label: point.check === "threshold" ? point.name : `${point.name} (${point.check})`,
          values: new Array(input.looks.length).fill(undefined),
          outcomes: new Array(input.looks.length).fill(""),
          ...(point.bound !== undefined ? { bound: point.bound } : {}),
          compare: point.check !== "threshold",
        };
        byKey.set(key, row);
        order.push(key);
      }
      row.values[index] = point.value;
      row.outcomes[index] = point.outcome;
    }
  });
  return order.map((key) => byKey.get(key)!);
}

function rangeOf(row: Row): { low: number; high: number } {
  const present = row.values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  const all = row.bound !== undefined ? [...present, row.bound] : present;
  if (all.length === 0) return { low: 0, high: 1 };
  const low = Math.min(0, ...all);
  const high = Math.max(...all);
  return high > low ? { low, high } : { low, high: low + 1 };
}

function short(value: number, compare: boolean): string {
  if (compare) return `${Number((value * 100).toPrecision(3))} %`;
  return String(Number(value.toPrecision(4)));
}

/** Columns of a terminal chart before looks are grouped. */
export const TEXT_COLUMNS = 96;

const SEVERITY = ["+", "P", "?", "x", "R"];

/**
 * Groups looks so a long replay (a week is 672 looks) fits a terminal: each
 * column holds `perColumn` consecutive looks, shows the worst of their
 * verdicts and the last look's values.
 */
export function columnsOf(
  looks: readonly ChartLook[],
  maxColumns: number,
): { looks: ChartLook[]; perColumn: number } {
  if (looks.length <= maxColumns) return { looks: [...looks], perColumn: 1 };
  const perColumn = Math.ceil(looks.length / maxColumns);
  const grouped: ChartLook[] = [];
  for (let i = 0; i < looks.length; i += perColumn) {
    const group = looks.slice(i, i + perColumn);
    const worst = group.reduce((a, b) =>
      SEVERITY.indexOf(lookSymbol(b)) > SEVERITY.indexOf(lookSymbol(a)) ? b : a,
    );
    const last = group.at(-1)!;
    grouped.push({ ...last, verdict: worst.verdict, decision: worst.decision });
  }
  return { looks: grouped, perColumn };
}

/**
 * The text chart: a verdict strip (+ pass, x fail, ? insufficient data,
 * R rollback, P bake passed) and a sparkline per metric, scaled from 0 (or
 * its lowest value) to the larger of its highest value and its bound.
 */
export function textChart(input: ChartInput, maxColumns = TEXT_COLUMNS): string {
  const { looks, perColumn } = columnsOf(input.looks, maxColumns);
  const rows = rowsOf({ ...input, looks });
  const width = Math.max("looks".length, ...rows.map((r) => r.label.length));
  const lines = [input.title, ""];
  if (perColumn > 1)
    lines.push(`(one column per ${perColumn} looks: the worst verdict, the last values)`, "");
  lines.push(`${"looks".padEnd(width)}  ${looks.map(lookSymbol).join("")}`);
  for (const row of rows) {
    const { low, high } = rangeOf(row);
    const spark = row.values
      .map((v) => {
        if (v === undefined || !Number.isFinite(v)) return " ";
        const level = Math.round(((v - low) / (high - low)) * (BARS.length - 1));
        return BARS[Math.max(0, Math.min(BARS.length - 1, level))]!;
      })
      .join("");
    const present = row.values.filter((v): v is number => v !== undefined && Number.isFinite(v));
    const last = present.at(-1);
    const summary = [
      last !== undefined ? `last ${short(last, row.compare)}` : "no data",
      row.bound !== undefined ? `${row.compare ? "allowed" : "pass"} ${short(row.bound, row.compare)}` : "",
    ]
      .filter(Boolean)
      .join(", ");
    lines.push(`${row.label.padEnd(width)}  ${spark}  ${summary}`);
  }
  lines.push("", "+ pass  x fail  ? insufficient data  R rollback  P bake passed");
  return lines.join("\n");
}

const COLOURS: Record<string, string> = {
  "+": "#2da44e",
  x: "#d4a72c",
  "?": "#8c959f",
  R: "#cf222e",
  P: "#0969da",
};

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Time of a look for axis labels: "MM-DD HH:MM". */
function label(iso: string): string {
  return iso.slice(5, 16).replace("T", " ");
}

/**
 * The SVG chart: the verdict strip as coloured cells, then one panel per
 * metric with its values per look as a line and its bound as a dashed line.
 */
export function svgChart(input: ChartInput): string {
  const rows = rowsOf(input);
  const n = Math.max(1, input.looks.length);
  const left = 190;
  const plotWidth = 600;
  const width = left + plotWidth + 20;
  const strip = 22;
  const panel = 70;
  const top = 40;
  const height = top + strip + 20 + rows.length * (panel + 16) + 30;
  const cell = plotWidth / n;
  const x = (i: number) => left + (i + 0.5) * cell;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(input.title)}</text>`,
    `<text x="10" y="${top + 15}">looks</text>`,
  ];
  input.looks.forEach((look, i) => {
    const symbol = lookSymbol(look);
    parts.push(
      `<rect x="${(left + i * cell).toFixed(2)}" y="${top}" width="${Math.max(cell - 0.5, 0.5).toFixed(2)}" height="${strip}" fill="${COLOURS[symbol] ?? "#8c959f"}"><title>${escapeXml(`${look.at}: ${look.verdict}, ${look.decision}`)}</title></rect>`,
    );
  });
  rows.forEach((row, r) => {
    const y0 = top + strip + 20 + r * (panel + 16);
    const { low, high } = rangeOf(row);
    const y = (v: number) => y0 + panel - ((v - low) / (high - low)) * panel;
    parts.push(
      `<text x="10" y="${y0 + panel / 2}">${escapeXml(row.label)}</text>`,
      `<rect x="${left}" y="${y0}" width="${plotWidth}" height="${panel}" fill="none" stroke="#d0d7de"/>`,
      `<text x="${left - 6}" y="${y0 + 10}" text-anchor="end" font-size="10">${escapeXml(short(high, row.compare))}</text>`,
      `<text x="${left - 6}" y="${y0 + panel}" text-anchor="end" font-size="10">${escapeXml(short(low, row.compare))}</text>`,
    );
    if (row.bound !== undefined) {
      parts.push(
        `<line x1="${left}" x2="${left + plotWidth}" y1="${y(row.bound).toFixed(2)}" y2="${y(row.bound).toFixed(2)}" stroke="#cf222e" stroke-dasharray="4 3"/>`,
      );
    }
    const segments: string[][] = [[]];
    row.values.forEach((v, i) => {
      if (v === undefined || !Number.isFinite(v)) {
        if (segments.at(-1)!.length > 0) segments.push([]);
        return;
      }
      segments.at(-1)!.push(`${x(i).toFixed(2)},${y(v).toFixed(2)}`);
    });
    for (const points of segments) {
      if (points.length === 1) {
        const [cx, cy] = points[0]!.split(",");
        parts.push(`<circle cx="${cx}" cy="${cy}" r="2" fill="#0969da"/>`);
      } else if (points.length > 1) {
        parts.push(
          `<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="${points.join(" ")}"/>`,
        );
      }
    }
  });
  const first = input.looks[0];
  const last = input.looks.at(-1);
  if (first && last) {
    parts.push(
      `<text x="${left}" y="${height - 10}" font-size="10">${escapeXml(label(first.at))}</text>`,
      `<text x="${left + plotWidth}" y="${height - 10}" font-size="10" text-anchor="end">${escapeXml(label(last.at))}</text>`,
    );
  }
  const legend: Array<[string, string]> = [
    ["+", "pass"],
    ["x", "fail"],
    ["?", "insufficient data"],
    ["R", "rollback"],
    ["P", "bake passed"],
  ];
  let lx = left + 150;
  for (const [symbol, name] of legend) {
    parts.push(
      `<rect x="${lx}" y="${height - 19}" width="10" height="10" fill="${COLOURS[symbol]}"/>`,
      `<text x="${lx + 14}" y="${height - 10}" font-size="10">${name}</text>`,
    );
    lx += 24 + name.length * 6;
  }
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
