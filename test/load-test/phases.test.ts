import { describe, expect, it } from "vitest";
import { artilleryDurationSeconds, planPhases } from "../../src/core/load-test/phases.js";

describe("planPhases", () => {
  it("adds constant, ramped, counted and paused phases", () => {
    const plan = planPhases(
      {
        config: {
          phases: [
            { duration: 10, arrivalRate: 5, name: "warm" },
            { duration: "1m", arrivalRate: 10, rampTo: 50 },
            { pause: "5s" },
            { duration: 5, arrivalCount: 20 },
          ],
        },
      },
      "s.yml",
    );
    expect(plan.seconds).toBe(80);
    expect(plan.arrivals).toBe(50 + 30 * 60 + 20);
    expect(plan.rate).toBeCloseTo(1870 / 80, 12);
    expect(plan.phases[0]).toBe("warm: 5/s for 10 s");
  });

  it("names the file and phase that cannot be read", () => {
    expect(() => planPhases({ config: {} }, "s.yml")).toThrow(/s\.yml: config\.phases is missing or empty/);
    expect(() => planPhases({ config: { phases: [{ duration: "soon", arrivalRate: 1 }] } }, "s.yml")).toThrow(
      /config\.phases\[0\]\.duration "soon" is not a duration/,
    );
    expect(() => planPhases({ config: { phases: [{ duration: 5 }] } }, "s.yml")).toThrow(
      /neither arrivalRate nor arrivalCount/,
    );
    expect(() => planPhases({ config: { phases: [{ duration: 5, arrivalRate: -1 }] } }, "s.yml")).toThrow(
      /arrivalRate -1 is not a non-negative/,
    );
  });

  it("reads Artillery's duration forms", () => {
    expect(artilleryDurationSeconds(30)).toBe(30);
    expect(artilleryDurationSeconds("30s")).toBe(30);
    expect(artilleryDurationSeconds("2min")).toBe(120);
    expect(artilleryDurationSeconds("1h")).toBe(3600);
    expect(artilleryDurationSeconds("500ms")).toBe(0.5);
    expect(artilleryDurationSeconds("x")).toBeUndefined();
  });
});
