/**
 * Live progress for the demo: phase and step headings, progress bars for bakes
 * and load tests, the observed split against the target weights, and the
 * gate's figures. Colours and in-place updates only on a terminal; plain,
 * append-only lines otherwise (CI=true or a pipe), so logs stay readable.
 */

export interface ProgressOptions {
  /** Write target; process.stdout by default. */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Force plain output (no colours, no in-place updates). */
  plain?: boolean;
}

const COLOURS = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  cyan: [36, 39],
} as const;

export type Colour = keyof typeof COLOURS;

export class Progress {
  private readonly out: NodeJS.WritableStream & { isTTY?: boolean };
  readonly plain: boolean;
  /** True while the last line written is a bar that the next update overwrites. */
  private liveLine = false;
  private lastPlainPercent = -1;

  constructor(options: ProgressOptions = {}) {
    this.out = options.out ?? process.stdout;
    this.plain =
      options.plain ??
      (!this.out.isTTY ||
        process.env.CI === "true" ||
        process.env.NO_COLOR !== undefined ||
        process.env.TERM === "dumb");
  }

  paint(colour: Colour, text: string): string {
    if (this.plain) return text;
    const [open, close] = COLOURS[colour];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  }

  /** A line that stays. */
  line(text = ""): void {
    this.endLive();
    this.out.write(`${text}\n`);
  }

  heading(text: string): void {
    this.line();
    this.line(this.paint("bold", this.plain ? `== ${text} ==` : `▶ ${text}`));
  }

  step(text: string): void {
    this.line(`  ${this.paint("cyan", "•")} ${text}`);
  }

  ok(text: string): void {
    this.line(`  ${this.paint("green", this.plain ? "[ok]" : "✔")} ${text}`);
  }

  warn(text: string): void {
    this.line(`  ${this.paint("yellow", this.plain ? "[warn]" : "!")} ${text}`);
  }

  fail(text: string): void {
    this.line(`  ${this.paint("red", this.plain ? "[FAIL]" : "✖")} ${text}`);
  }

  /**
   * A progress bar with a trailing status. On a terminal it redraws in place;
   * in plain mode it prints a line every 25 % so logs are not flooded.
   */
  bar(label: string, fraction: number, status: string): void {
    const clamped = Math.max(0, Math.min(1, fraction));
    const percent = Math.floor(clamped * 100);
    if (this.plain) {
      const bucket = Math.floor(percent / 25) * 25;
      if (bucket === this.lastPlainPercent) return;
      this.lastPlainPercent = bucket;
      this.out.write(`    ${label} ${String(bucket).padStart(3)}% ${status}\n`);
      return;
    }
    const width = 24;
    const filled = Math.round(clamped * width);
    const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
    this.out.write(
      `\r\u001b[2K    ${label} ${this.paint("blue", bar)} ${String(percent).padStart(3)}% ${status}`,
    );
    this.liveLine = true;
  }

  /** Finishes a bar so the next one starts fresh. */
  endBar(): void {
    this.endLive();
    this.lastPlainPercent = -1;
  }

  private endLive(): void {
    if (this.liveLine) {
      this.out.write("\n");
      this.liveLine = false;
    }
  }
}

/** Renders rows as an aligned text table (first row is the header). */
export function textTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, visibleLength(cell));
    });
  }
  const render = (row: string[]) =>
    row.map((cell, index) => cell + " ".repeat((widths[index] ?? 0) - visibleLength(cell))).join("  ");
  const [header, ...body] = rows;
  if (!header) return "";
  return [render(header), widths.map((width) => "-".repeat(width)).join("  "), ...body.map(render)].join(
    "\n",
  );
}

function visibleLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips colour escapes to measure width
  return text.replace(/\u001b\[\d+m/g, "").length;
}
