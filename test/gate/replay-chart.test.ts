import { describe, expect, it } from "vitest";
import {
  type ChartLook,
  columnsOf,
  lookSymbol,
  svgChart,
  textChart,
} from "../../src/core/gate/replay-chart.js";

function look(i: number, verdict: string, decision = "bake", value = i): ChartLook {
  return {
    at: new Date(Date.UTC(2026, 2, 1, 0, 15 * (i + 1))).toISOString(),
    verdict,
    decision,
    metrics: [{ name: "p95", check: "threshold", value, bound: 500, outcome: verdict }],
  };
}

describe("replay charts", () => {
  it("one cell per look: pass, fail, insufficient data, rollback and bake passed", () => {
    expect(
      [
        look(0, "pass"),
        look(1, "fail"),
        look(2, "insufficient-data", "extend"),
        look(3, "rollback", "rollback"),
        look(4, "pass", "passed"),
      ].map(lookSymbol),
    ).toEqual(["+", "x", "?", "R", "P"]);
  });

  it("a long replay is grouped into columns showing the worst verdict and the last values", () => {
    const looks = Array.from({ length: 672 }, (_, i) => look(i, i === 300 ? "fail" : "pass", "bake", i));
    const { looks: columns, perColumn } = columnsOf(looks, 96);
    expect(perColumn).toBe(7);
    expect(columns).toHaveLength(96);
    expect(columns.map(lookSymbol).join("")).toBe(`${"+".repeat(42)}x${"+".repeat(53)}`);
    expect(columns[0]!.metrics[0]!.value).toBe(6);
    const text = textChart({ title: "week", looks });
    expect(text).toContain("(one column per 7 looks: the worst verdict, the last values)");
    expect(text.split("\n").find((line) => line.startsWith("looks"))).toHaveLength("looks  ".length + 96);
  });

  it("the SVG escapes text and draws one cell per look and the bound", () => {
    const svg = svgChart({ title: 'gate "a<b"', looks: [look(0, "pass"), look(1, "rollback", "rollback")] });
    expect(svg).toContain("gate &#34;a&#60;b&#34;");
    expect(svg.match(/<rect x="[\d.]+" y="40"/g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray="4 3"');
  });
});
