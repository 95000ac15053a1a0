import { describe, expect, it } from "vitest";
import {
  coveringPeriod,
  isValidPeriod,
  periodsInWindow,
  resolveGateWindow,
} from "../../src/core/gate/window.js";

const at = (iso: string) => new Date(iso);

describe("CloudWatch periods", () => {
  it("accepts high-resolution periods and multiples of 60 only", () => {
    for (const ok of [1, 5, 10, 20, 30, 60, 120, 3600, 259_200])
      expect(isValidPeriod(ok), String(ok)).toBe(true);
    for (const bad of [0, 2, 7, 45, 90, 61, -60, 1.5]) expect(isValidPeriod(bad), String(bad)).toBe(false);
  });

  it("covers a window with one valid period that is a multiple of the gate period", () => {
    expect(coveringPeriod(25, 5)).toBe(30);
    expect(coveringPeriod(40, 20)).toBe(60);
    expect(coveringPeriod(20, 5)).toBe(30);
    expect(coveringPeriod(20, 20)).toBe(60);
    expect(coveringPeriod(30, 1)).toBe(30);
    expect(coveringPeriod(31, 1)).toBe(60);
    expect(coveringPeriod(72 * 3600, 60)).toBe(259_200);
    expect(coveringPeriod(3601, 60)).toBe(3660);
    expect(coveringPeriod(0, 60)).toBe(60);
  });

  it("never picks a datapoint that would start before the window: CloudWatch rounds the start down", () => {
    const minute = Date.parse("2026-03-01T10:00:00Z");
    // On a minute boundary, one datapoint covers the window.
    expect(coveringPeriod(7, 1, minute)).toBe(10);
    expect(coveringPeriod(35, 5, minute)).toBe(60);
    expect(coveringPeriod(72 * 3600, 60, minute)).toBe(259_200);
    // 3 s past a 10 s boundary: a 10 s datapoint would start 3 s early; 1 s datapoints start where the window does.
    expect(coveringPeriod(7, 1, minute + 13_000)).toBe(1);
    // 30 s past the minute: a whole-minute datapoint would start 30 s early; 30 s datapoints fit exactly.
    expect(coveringPeriod(90, 30, minute + 30_000)).toBe(30);
    expect(coveringPeriod(35, 5, minute + 30_000)).toBe(5);
    // 20 s past a 10 s boundary, 40 s long: 10 s datapoints divide it and start on it.
    expect(coveringPeriod(40, 1, minute + 20_000)).toBe(10);
  });
});

describe("resolveGateWindow", () => {
  const gateStartsAt = at("2026-03-01T10:00:30Z");

  it("bake: from the gate start rounded up to now rounded down, so no traffic before the shift counts", () => {
    const window = resolveGateWindow({
      mode: "bake",
      now: at("2026-03-01T12:05:42Z"),
      periodSeconds: 60,
      gateStartsAt,
    });
    expect(window.start.toISOString()).toBe("2026-03-01T10:01:00.000Z");
    expect(window.end.toISOString()).toBe("2026-03-01T12:05:00.000Z");
    expect(window.aggregatePeriodSeconds).toBe(7440);
    expect(window.fromGateStart).toBe(true);
    expect(window.waitUntil).toBeUndefined();
    expect(periodsInWindow(window)).toBe(124);
  });

  it("bake with a window length judges only the last part, never before the gate start", () => {
    const now = at("2026-03-01T12:00:00Z");
    const last = resolveGateWindow({
      mode: "bake",
      now,
      periodSeconds: 60,
      gateStartsAt,
      durationSeconds: 600,
    });
    expect(last.start.toISOString()).toBe("2026-03-01T11:50:00.000Z");
    expect(last.fromGateStart).toBe(false);
    const longer = resolveGateWindow({
      mode: "bake",
      now,
      periodSeconds: 60,
      gateStartsAt,
      durationSeconds: 86_400,
    });
    expect(longer.start.toISOString()).toBe("2026-03-01T10:01:00.000Z");
  });

  it("reads a window starting more than 3 hours ago in whole minutes: CloudWatch keeps sub-minute data 3 hours", () => {
    const long = resolveGateWindow({
      mode: "bake",
      now: at("2026-03-01T14:05:42Z"),
      periodSeconds: 1,
      gateStartsAt: at("2026-03-01T10:00:30Z"),
    });
    expect(long.periodSeconds).toBe(60);
    expect(long.start.toISOString()).toBe("2026-03-01T10:01:00.000Z");
    expect(long.end.toISOString()).toBe("2026-03-01T14:05:00.000Z");
    expect(long.aggregatePeriodSeconds).toBe(14_640);
    expect(long.source).toContain("60 s periods");
    const recent = resolveGateWindow({
      mode: "bake",
      now: at("2026-03-01T12:05:42Z"),
      periodSeconds: 1,
      gateStartsAt: at("2026-03-01T10:00:30Z"),
    });
    expect(recent.periodSeconds).toBe(1);
  });

  it("check: the first part after the gate start, waiting when it has not passed yet", () => {
    const window = resolveGateWindow({
      mode: "check",
      now: at("2026-03-01T10:02:00Z"),
      periodSeconds: 5,
      gateStartsAt,
      durationSeconds: 300,
    });
    expect(window.start.toISOString()).toBe("2026-03-01T10:00:30.000Z");
    expect(window.end.toISOString()).toBe("2026-03-01T10:05:30.000Z");
    expect(window.waitUntil?.toISOString()).toBe("2026-03-01T10:05:30.000Z");
    // A 300 s datapoint would start at 10:00:00, 30 s before the gate; 30 s datapoints start at 10:00:30.
    expect(window.aggregatePeriodSeconds).toBe(30);
  });

  it("explicit start and end override the status", () => {
    const window = resolveGateWindow({
      mode: "bake",
      now: at("2026-03-02T00:00:00Z"),
      periodSeconds: 60,
      gateStartsAt,
      start: at("2026-03-01T08:00:00Z"),
      end: at("2026-03-01T09:00:00Z"),
    });
    expect([window.start.toISOString(), window.end.toISOString()]).toEqual([
      "2026-03-01T08:00:00.000Z",
      "2026-03-01T09:00:00.000Z",
    ]);
    expect(window.source).toContain("input window-start");
  });

  it("refuses without a gate start, naming the input that would fix it", () => {
    expect(() =>
      resolveGateWindow({ mode: "bake", now: at("2026-03-01T12:00:00Z"), periodSeconds: 60 }),
    ).toThrow(/gateWindowStartsAt.*"window-start"/);
  });

  it("refuses an end before the start and a period CloudWatch does not accept", () => {
    expect(() =>
      resolveGateWindow({
        mode: "bake",
        now: at("2026-03-01T12:00:00Z"),
        periodSeconds: 60,
        gateStartsAt,
        end: at("2026-03-01T09:00:00Z"),
      }),
    ).toThrow(/ends .* before it starts/);
    expect(() =>
      resolveGateWindow({ mode: "bake", now: at("2026-03-01T12:00:00Z"), periodSeconds: 45, gateStartsAt }),
    ).toThrow(/45s is not a CloudWatch period/);
  });

  it("a window shorter than one period collapses to an empty window rather than counting a partial period", () => {
    const window = resolveGateWindow({
      mode: "bake",
      now: at("2026-03-01T10:01:10Z"),
      periodSeconds: 60,
      gateStartsAt,
    });
    expect(periodsInWindow(window)).toBe(0);
  });
});
