import { describe, expect, it } from "vitest";
import { type AlarmState, judgeAlarm, reasonDate } from "../../sandbox/alarm-evaluation.js";

const MINUTE = 60_000;
const T0 = Date.parse("2030-01-01T00:10:00Z");

/** Datapoints from a row like "X 0 -": X breaching (20), 0 not breaching (1), - missing; written oldest first. */
function row(text: string) {
  const cells = text.split(" ");
  return cells
    .map((cell, index) => {
      const timestamp = T0 - (cells.length - index) * MINUTE;
      return cell === "-" ? { timestamp } : { timestamp, value: cell === "X" ? 20 : 1 };
    })
    .reverse();
}

function judge(text: string, m: number, treatMissingData: string, currentState: AlarmState = "OK") {
  return judgeAlarm({
    points: row(text),
    datapointsToAlarm: m,
    threshold: 10,
    comparison: "GreaterThanThreshold",
    treatMissingData,
    currentState,
  })?.state;
}

describe("judging an alarm's datapoints", () => {
  it("counts M breaching out of N", () => {
    expect(judge("X 0 X", 2, "missing")).toBe("ALARM");
    expect(judge("X 0 0", 2, "missing")).toBe("OK");
    expect(judge("X X X", 3, "missing")).toBe("ALARM");
    expect(judge("0 X X", 3, "missing")).toBe("OK");
  });

  it("applies each TreatMissingData when every datapoint is missing", () => {
    expect(judge("- - -", 2, "missing")).toBe("INSUFFICIENT_DATA");
    expect(judge("- - -", 2, "ignore", "ALARM")).toBeUndefined();
    expect(judge("- - -", 2, "breaching")).toBe("ALARM");
    expect(judge("- - -", 2, "notBreaching")).toBe("OK");
  });

  it("applies each TreatMissingData when some datapoints are missing", () => {
    // Enough present datapoints: missing ones do not count either way.
    expect(judge("X - X", 2, "missing")).toBe("ALARM");
    expect(judge("0 - 0", 2, "ignore")).toBe("OK");
    // Fewer present than M: the latest present result fills in.
    expect(judge("- - X", 2, "missing")).toBe("ALARM");
    expect(judge("X - 0", 3, "missing")).toBe("OK");
    expect(judge("- 0 -", 2, "breaching")).toBe("ALARM");
    expect(judge("- X -", 2, "notBreaching")).toBe("OK");
  });

  it("writes CloudWatch's reason, newest datapoint first", () => {
    const judged = judgeAlarm({
      points: row("X 0 X"),
      datapointsToAlarm: 2,
      threshold: 10,
      comparison: "GreaterThanThreshold",
      treatMissingData: "missing",
      currentState: "OK",
    });
    expect(judged?.reason).toBe(
      `Threshold Crossed: 2 out of the last 3 datapoints [20.0 (${reasonDate(T0 - MINUTE)}), 1.0 (${reasonDate(T0 - 2 * MINUTE)}), 20.0 (${reasonDate(T0 - 3 * MINUTE)})] were greater than the threshold (10.0) (minimum 2 datapoints for OK -> ALARM transition).`,
    );
    expect(reasonDate(T0)).toBe("01/01/30 00:10:00");
    const single = judgeAlarm({
      points: row("0"),
      datapointsToAlarm: 1,
      threshold: 0.5,
      comparison: "LessThanOrEqualToThreshold",
      treatMissingData: "missing",
      currentState: "ALARM",
    });
    expect(single?.reason).toBe(
      `Threshold Crossed: 1 out of the last 1 datapoint [1.0 (${reasonDate(T0 - MINUTE)})] was not less than or equal to the threshold (0.5) (minimum 1 datapoint for ALARM -> OK transition).`,
    );
  });
});
