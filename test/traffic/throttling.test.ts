import { describe, expect, it } from "vitest";
import { isThrottling, retryThrottled } from "../../src/providers/throttling.js";
import { awsError } from "../fixtures/traffic/world.js";

describe("isThrottling", () => {
  it("recognises AWS throttling by name or HTTP 429, and nothing else", () => {
    expect(isThrottling(awsError("Throttling"))).toBe(true);
    expect(isThrottling(awsError("PriorRequestNotComplete"))).toBe(true);
    expect(isThrottling(awsError("SomethingElse", "slow down", 429))).toBe(true);
    expect(isThrottling(awsError("InvalidChangeBatch"))).toBe(false);
    expect(isThrottling("Throttling")).toBe(false);
    expect(isThrottling(undefined)).toBe(false);
  });
});

describe("retryThrottled", () => {
  it("cuts a retry off when the budget is spent, however long its own retries would go on, and never the first attempt", async () => {
    const signals: Array<AbortSignal | undefined> = [];
    const error = await retryThrottled(
      (signal) => {
        signals.push(signal);
        if (!signal) return Promise.reject(awsError("Throttling", "Rate exceeded"));
        // A retry whose SDK retries would go on for ever: only the abort ends it.
        return new Promise<never>((_, reject) =>
          signal.addEventListener("abort", () =>
            reject(Object.assign(new Error("Request aborted"), { name: "AbortError" })),
          ),
        );
      },
      { attempts: 4, baseDelayMs: 1, maxDelayMs: 2, budgetMs: 150 },
    ).catch((caught: unknown) => caught as Error);
    expect(signals[0]).toBeUndefined();
    expect(signals).toHaveLength(2);
    expect(signals[1]?.aborted).toBe(true);
    expect(error.name).toBe("ThrottlingBudgetExceeded");
    expect(error.message).toMatch(
      /Rate exceeded; retried for 0 s, the last attempt cut off at that bound: Request aborted/,
    );
  });

  it("retries throttling until it succeeds, within the attempt bound", async () => {
    let calls = 0;
    const retries: number[] = [];
    const result = await retryThrottled(
      async () => {
        calls++;
        if (calls < 3) throw awsError("Throttling");
        return "done";
      },
      { attempts: 3, baseDelayMs: 1, maxDelayMs: 2, budgetMs: 1000 },
      (attempt) => retries.push(attempt),
    );
    expect(result).toBe("done");
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it("stops at the time budget even with attempts left", async () => {
    let calls = 0;
    const started = Date.now();
    await expect(
      retryThrottled(
        async () => {
          calls++;
          throw awsError("Throttling");
        },
        { attempts: 100, baseDelayMs: 40, maxDelayMs: 40, budgetMs: 100 },
      ),
    ).rejects.toThrow("Throttling");
    expect(calls).toBeLessThanOrEqual(5);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("counts the time of the attempts themselves (the SDK's retries inside each) against the budget", async () => {
    let calls = 0;
    const started = Date.now();
    await expect(
      retryThrottled(
        async () => {
          calls++;
          await new Promise((resolve) => setTimeout(resolve, 70));
          throw awsError("Throttling");
        },
        { attempts: 100, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 200 },
      ),
    ).rejects.toThrow("Throttling");
    expect(Date.now() - started).toBeLessThanOrEqual(200);
    expect(calls).toBe(2);
  });
});
