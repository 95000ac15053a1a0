import { describe, expect, it } from "vitest";
import { type DeliveryClock, deliverWithRetry } from "../../src/notify/deliver.js";
import {
  type AttemptOutcome,
  backoffDelayMs,
  classifyHttpStatus,
  decideRetry,
  parseRetryAfter,
  type RetryPolicy,
} from "../../src/notify/retry.js";

const POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  totalBudgetMs: 10_000,
  attemptTimeoutMs: 1000,
};

/** A clock whose sleeps only move its time. */
function fakeClock(random = () => 1 - Number.EPSILON): DeliveryClock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    nowMs: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    random,
  };
}

describe("the retry policy", () => {
  it("backs off exponentially with full jitter, up to the cap", () => {
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(POLICY, retry, () => 0.999999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelayMs(POLICY, 3, () => 0)).toBe(0);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-03-01T12:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Sun, 01 Mar 2026 12:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("retries 429, 5xx and timeouts, and refuses other 4xx at once", () => {
    expect(classifyHttpStatus(204, null, 0).kind).toBe("delivered");
    expect(classifyHttpStatus(429, "3", 0)).toEqual({
      kind: "retryable",
      detail: "HTTP 429 (Retry-After 3 s)",
      retryAfterMs: 3000,
    });
    expect(classifyHttpStatus(503, null, 0).kind).toBe("retryable");
    expect(classifyHttpStatus(404, null, 0).kind).toBe("rejected");
    expect(decideRetry(POLICY, 1, 0, { kind: "rejected", detail: "HTTP 410" }, Math.random)).toEqual({
      retry: false,
      why: "refused: HTTP 410",
    });
  });

  it("waits at least what Retry-After asks, and gives up when that is past the budget", () => {
    const ask = (ms: number): AttemptOutcome => ({ kind: "retryable", detail: "HTTP 429", retryAfterMs: ms });
    expect(decideRetry(POLICY, 1, 0, ask(2000) as never, () => 0.5)).toEqual({ retry: true, delayMs: 2000 });
    const late = decideRetry(POLICY, 1, 0, ask(60_000) as never, () => 0.5);
    expect(late).toMatchObject({
      retry: false,
      why: expect.stringMatching(/asked to wait 60 s, past the 10 s/),
    });
  });
});

describe("delivery with retries", () => {
  it("delivers on a later attempt after retryable failures", async () => {
    const answers: AttemptOutcome[] = [
      { kind: "retryable", detail: "HTTP 500" },
      { kind: "retryable", detail: "HTTP 429", retryAfterMs: 700 },
      { kind: "delivered", detail: "HTTP 200" },
    ];
    const clock = fakeClock();
    const result = await deliverWithRetry(async () => answers.shift()!, POLICY, clock);
    expect(result).toMatchObject({
      delivered: true,
      attempts: 3,
      outcomes: ["HTTP 500", "HTTP 429", "HTTP 200"],
    });
    expect(clock.slept).toEqual([99, 700]);
  });

  it("stops at the attempt bound and says why", async () => {
    const clock = fakeClock();
    const result = await deliverWithRetry(
      async () => ({ kind: "retryable", detail: "HTTP 502" }),
      POLICY,
      clock,
    );
    expect(result).toMatchObject({ delivered: false, attempts: 5 });
    expect(result.failure).toBe("gave up after 5 attempts; last: HTTP 502");
  });

  it("stops when the time budget runs out", async () => {
    const clock = fakeClock();
    const result = await deliverWithRetry(
      async () => ({ kind: "retryable", detail: "HTTP 503" }),
      { ...POLICY, maxAttempts: 100, totalBudgetMs: 2500 },
      clock,
    );
    expect(result.delivered).toBe(false);
    expect(result.failure).toMatch(/delivery budget ran out/);
    expect(clock.slept.reduce((sum, ms) => sum + ms, 0)).toBeLessThan(2500);
  });

  it("turns a thrown error into a retry and a hung attempt into a timeout", async () => {
    let calls = 0;
    const result = await deliverWithRetry(
      (signal) => {
        calls++;
        if (calls === 1) return Promise.reject(new Error("ECONNRESET"));
        if (calls === 2)
          return new Promise((_, reject) =>
            signal.addEventListener("abort", () => reject(new Error("aborted"))),
          );
        return Promise.resolve({ kind: "delivered", detail: "HTTP 200" });
      },
      { ...POLICY, attemptTimeoutMs: 50 },
      fakeClock(() => 0),
    );
    expect(result).toMatchObject({ delivered: true, attempts: 3 });
    expect(result.outcomes.slice(0, 2)).toEqual(["ECONNRESET", "timed out after 50 ms"]);
  });
});
