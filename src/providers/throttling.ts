/**
 * A bounded second line of defence against AWS throttling. The clients
 * already retry with the SDK's adaptive strategy (which also slows the client
 * down when throttled); when a call still comes back throttled after the
 * SDK's attempts, the mutation that a rollback depends on must not be lost to
 * a busy control plane, so it is retried a few more times here, bounded in
 * count and in total time.
 */

/** Error names AWS uses for "slow down, then try again"; Route 53 answers PriorRequestNotComplete while a change is still being processed. */
export const THROTTLING_ERRORS: readonly string[] = [
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "PriorRequestNotComplete",
];

export interface ThrottlingRetryOptions {
  /** Attempts in all, including the first. */
  attempts: number;
  /** Delay before the second attempt; doubles each time, with jitter. */
  baseDelayMs: number;
  /** Largest single delay. */
  maxDelayMs: number;
  /** No attempt starts after this much time since the first. */
  budgetMs: number;
}

export const DEFAULT_THROTTLING_RETRY: ThrottlingRetryOptions = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 4000,
  budgetMs: 30_000,
};

/** True when AWS asked the caller to slow down (by error name or HTTP 429). */
export function isThrottling(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const named = error as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    (typeof named.name === "string" && THROTTLING_ERRORS.includes(named.name)) ||
    named.$metadata?.httpStatusCode === 429
  );
}

/**
 * Runs `call`, retrying only throttling errors with exponential backoff and
 * full jitter, at most `attempts` times, and starts no attempt that would end
 * past `budgetMs` (counting the SDK's retries inside each one). A retry is
 * handed an abort signal that fires when the budget is spent, so its own SDK
 * retries cannot carry it past the bound; the first attempt is never cut
 * short (an upload may legitimately take long). Any other error, and the last
 * throttling error, is thrown unchanged; a retry aborted at the budget throws
 * an error saying so, with what the cut-off attempt's own error says about
 * whether it reached AWS.
 */
export async function retryThrottled<T>(
  call: (signal?: AbortSignal) => Promise<T>,
  options: ThrottlingRetryOptions = DEFAULT_THROTTLING_RETRY,
  onRetry?: (attempt: number, error: unknown, delayMs: number) => void,
): Promise<T> {
  const started = Date.now();
  // Each attempt holds the SDK's own retries, so it can take seconds: the budget
  // must cover the next attempt too, judged by the longest one so far.
  let longestAttemptMs = 0;
  let lastThrottling: unknown;
  for (let attempt = 1; ; attempt++) {
    const attemptStarted = Date.now();
    const deadline = attempt > 1 ? new AbortController() : undefined;
    const timer = deadline
      ? setTimeout(() => deadline.abort(), Math.max(0, started + options.budgetMs - Date.now()))
      : undefined;
    try {
      return await call(deadline?.signal);
    } catch (error) {
      if (deadline?.signal.aborted) {
        // The cut-off attempt's own error says whether it may have reached AWS (a mutation in flight may have applied).
        const cut = new Error(
          `${(lastThrottling as Error).message}; retried for ${Math.round(options.budgetMs / 1000)} s, the last attempt cut off at that bound: ${(error as Error).message}`,
        );
        cut.name = "ThrottlingBudgetExceeded";
        throw cut;
      }
      longestAttemptMs = Math.max(longestAttemptMs, Date.now() - attemptStarted);
      if (!isThrottling(error) || attempt >= options.attempts) throw error;
      lastThrottling = error;
      const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      if (Date.now() - started + delayMs + longestAttemptMs > options.budgetMs) throw error;
      onRetry?.(attempt, error, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}
