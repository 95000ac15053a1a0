/**
 * The delivery policy: exponential backoff with full jitter, bounded both in
 * attempts and in total time, waiting at least what a receiver's Retry-After
 * asks (Slack answers 429 with one). Pure: time and randomness come in.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Backoff before the second attempt, before jitter; doubled each time. */
  baseDelayMs: number;
  /** Backoff never grows past this (before jitter). */
  maxDelayMs: number;
  /** No attempt starts, and no wait runs, past this much time since the first attempt. */
  totalBudgetMs: number;
  /** One attempt is abandoned (and counts as retryable) after this long. */
  attemptTimeoutMs: number;
}

/**
 * Five attempts within 30 s: a step waits at most that long for a sink, which
 * is short beside a shift's INSYNC wait and a gate's window.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  totalBudgetMs: 30_000,
  attemptTimeoutMs: 10_000,
};

/** What one attempt came to. */
export type AttemptOutcome =
  | { kind: "delivered"; detail: string }
  | { kind: "retryable"; detail: string; retryAfterMs?: number }
  | { kind: "rejected"; detail: string };

/** Full jitter: a uniformly random wait up to the exponential bound for this retry (1 = before the 2nd attempt). */
export function backoffDelayMs(policy: RetryPolicy, retry: number, random: () => number): number {
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * bound);
}

/** A Retry-After header as milliseconds from `nowMs`: delay-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/**
 * An HTTP answer as an attempt outcome: 2xx delivered; 408, 425, 429 and
 * 5xx retryable (with Retry-After when given); any other status rejected,
 * since sending the same request again would get the same answer.
 */
export function classifyHttpStatus(
  status: number,
  retryAfter: string | null | undefined,
  nowMs: number,
): AttemptOutcome {
  if (status >= 200 && status < 300) return { kind: "delivered", detail: `HTTP ${status}` };
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter, nowMs);
    return {
      kind: "retryable",
      detail: `HTTP ${status}${retryAfterMs !== undefined ? ` (Retry-After ${Math.ceil(retryAfterMs / 1000)} s)` : ""}`,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  return { kind: "rejected", detail: `HTTP ${status}` };
}

/** After a failed attempt: wait this long and try again, or stop and say why. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; why: string };

/** Decides what follows attempt number `attempt` (1-based) that ended `outcome`, `elapsedMs` after the first began. */
export function decideRetry(
  policy: RetryPolicy,
  attempt: number,
  elapsedMs: number,
  outcome: Exclude<AttemptOutcome, { kind: "delivered" }>,
  random: () => number,
): RetryDecision {
  if (outcome.kind === "rejected") return { retry: false, why: `refused: ${outcome.detail}` };
  if (attempt >= policy.maxAttempts) return { retry: false, why: `gave up after ${attempt} attempts` };
  const backoff = backoffDelayMs(policy, attempt, random);
  const delayMs = Math.max(backoff, outcome.retryAfterMs ?? 0);
  if (elapsedMs + delayMs >= policy.totalBudgetMs) {
    return {
      retry: false,
      why:
        outcome.retryAfterMs !== undefined && outcome.retryAfterMs >= backoff
          ? `the receiver asked to wait ${Math.ceil(outcome.retryAfterMs / 1000)} s, past the ${Math.round(policy.totalBudgetMs / 1000)} s delivery budget`
          : `the ${Math.round(policy.totalBudgetMs / 1000)} s delivery budget ran out after ${attempt} attempts`,
    };
  }
  return { retry: true, delayMs };
}
