import { describe, expect, it } from "vitest";
import { EventPatternError, matchesEventPattern, parseEventPattern } from "../../sandbox/event-pattern.js";

const EVENT = {
  version: "0",
  id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "CloudWatch Alarm State Change",
  source: "aws.cloudwatch",
  account: "123456789012",
  time: "2030-01-01T00:00:00Z",
  region: "us-east-1",
  resources: [
    "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cutover-shop-orders-canary-errors-rollback-max",
  ],
  detail: {
    alarmName: "cutover-shop-orders-canary-errors-rollback-max",
    state: { value: "ALARM", count: 7 },
    previousState: { value: "OK" },
    tags: ["a", "b"],
    empty: null,
  },
};

const matches = (pattern: unknown) => matchesEventPattern(parseEventPattern(JSON.stringify(pattern)), EVENT);

describe("event pattern matching", () => {
  it("matches exact values, arrays as OR and nested fields, and ANDs the fields", () => {
    expect(matches({ source: ["aws.cloudwatch"], detail: { state: { value: ["ALARM"] } } })).toBe(true);
    expect(matches({ source: ["aws.ec2", "aws.cloudwatch"] })).toBe(true);
    expect(matches({ source: ["aws.cloudwatch"], detail: { state: { value: ["OK"] } } })).toBe(false);
    expect(matches({ detail: { missing: ["x"] } })).toBe(false);
    expect(matches({ detail: { empty: [null] } })).toBe(true);
  });

  it("matches an event array when any of its elements matches", () => {
    expect(matches({ detail: { tags: ["b"] } })).toBe(true);
    expect(matches({ resources: [{ suffix: "-rollback-max" }] })).toBe(true);
    expect(matches({ detail: { tags: ["c"] } })).toBe(false);
  });

  it("applies prefix, suffix, equals-ignore-case and wildcard filters", () => {
    expect(matches({ detail: { alarmName: [{ prefix: "cutover-shop-" }] } })).toBe(true);
    expect(matches({ detail: { alarmName: [{ prefix: { "equals-ignore-case": "CUTOVER-" } }] } })).toBe(true);
    expect(matches({ detail: { alarmName: [{ suffix: "-rollback-min" }] } })).toBe(false);
    expect(matches({ detail: { alarmName: [{ suffix: { "equals-ignore-case": "-ROLLBACK-MAX" } }] } })).toBe(
      true,
    );
    expect(matches({ "detail-type": [{ "equals-ignore-case": "cloudwatch alarm state change" }] })).toBe(
      true,
    );
    expect(matches({ detail: { alarmName: [{ wildcard: "cutover-*-rollback-*" }] } })).toBe(true);
    expect(matches({ detail: { alarmName: [{ wildcard: "cutover-*-rollback" }] } })).toBe(false);
  });

  it("applies anything-but with values, lists, prefix and suffix", () => {
    expect(matches({ detail: { state: { value: [{ "anything-but": "OK" }] } } })).toBe(true);
    expect(matches({ detail: { state: { value: [{ "anything-but": ["OK", "ALARM"] }] } } })).toBe(false);
    expect(matches({ detail: { state: { value: [{ "anything-but": { prefix: "AL" } }] } } })).toBe(false);
    expect(matches({ detail: { state: { value: [{ "anything-but": { suffix: "K" } }] } } })).toBe(true);
    expect(matches({ detail: { missing: [{ "anything-but": "x" }] } })).toBe(false);
  });

  it("applies numeric ranges and exists", () => {
    expect(matches({ detail: { state: { count: [{ numeric: [">", 5, "<=", 7] }] } } })).toBe(true);
    expect(matches({ detail: { state: { count: [{ numeric: ["<", 7] }] } } })).toBe(false);
    expect(matches({ detail: { state: { count: [{ numeric: ["=", 7] }] } } })).toBe(true);
    expect(matches({ detail: { state: { value: [{ numeric: [">", 0] }] } } })).toBe(false);
    expect(matches({ detail: { alarmName: [{ exists: true }] } })).toBe(true);
    expect(matches({ detail: { missing: [{ exists: false }] } })).toBe(true);
    expect(matches({ detail: { alarmName: [{ exists: false }] } })).toBe(false);
  });

  it("matches $or branches", () => {
    expect(matches({ $or: [{ source: ["aws.ec2"] }, { detail: { state: { value: ["ALARM"] } } }] })).toBe(
      true,
    );
    expect(matches({ $or: [{ source: ["aws.ec2"] }, { detail: { state: { value: ["OK"] } } }] })).toBe(false);
  });

  it("refuses patterns EventBridge refuses, saying where", () => {
    const refusals: Array<[string, RegExp]> = [
      ["not json", /not JSON/],
      ["[]", /non-empty JSON object/],
      [JSON.stringify({ source: "aws.cloudwatch" }), /array or an object at source/],
      [JSON.stringify({ source: [] }), /Empty arrays are not allowed at source/],
      [JSON.stringify({ detail: { n: [{ numeric: [">", "5"] }] } }), /must be a number.*detail\.n/],
      [JSON.stringify({ detail: { n: [{ numeric: [">", 1, ">", 2] }] } }), /Bottom range defined twice/],
      [JSON.stringify({ source: [{ prefix: 5 }] }), /prefix match pattern must be a string/],
      [JSON.stringify({ source: [{ exists: "yes" }] }), /exists match pattern must be either true or false/],
      [JSON.stringify({ source: [{ "anything-but": ["a", 1] }] }), /only strings or only numbers/],
      [JSON.stringify({ source: [{ wildcard: "a**b" }] }), /Consecutive wildcard/],
      [JSON.stringify({ source: [{ cidr: "10.0.0.0/8" }] }), /Unrecognized match type cidr/],
      [JSON.stringify({ source: [{ prefix: "a", suffix: "b" }] }), /exactly one operator/],
    ];
    for (const [text, message] of refusals) {
      expect(() => parseEventPattern(text), text).toThrow(EventPatternError);
      expect(() => parseEventPattern(text), text).toThrow(message);
    }
  });
});
