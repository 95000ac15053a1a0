/**
 * Delivery to one sink: attempts under the retry policy until one is
 * delivered, one is refused, or the attempts or the time budget run out.
 * At least once: an attempt that timed out may have arrived, so it is sent
 * again with the same id and the receiver dedupes. Never throws.
 */
import { type AttemptOutcome, decideRetry, type RetryPolicy } from "./retry.js";

/** One attempt: send, and say how it went. The signal aborts it when its time is up. */
export type SendAttempt = (signal: AbortSignal) => Promise<AttemptOutcome>;

/** Time and randomness, injected so tests can run the policy without waiting. */
export interface DeliveryClock {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export const SYSTEM_CLOCK: DeliveryClock = {
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export interface DeliveryResult {
  delivered: boolean;
  attempts: number;
  elapsedMs: number;
  /** What each attempt came to, in order ("HTTP 500", "timed out after 10 s", ...). */
  outcomes: string[];
  /** Why delivery stopped without success. */
  failure?: string;
}

/** Runs one attempt, turning a thrown error or the timeout into a retryable outcome. */
async function attemptOnce(send: SendAttempt, timeoutMs: number): Promise<AttemptOutcome> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<AttemptOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`timed out after ${timeoutMs} ms`));
      resolve({ kind: "retryable", detail: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      send(controller.signal).catch(
        (error: unknown): AttemptOutcome => ({
          kind: "retryable",
          detail: error instanceof Error ? error.message : String(error),
        }),
      ),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Delivers with retries; the result says how many attempts it took and, if it failed, why. */
export async function deliverWithRetry(
  send: SendAttempt,
  policy: RetryPolicy,
  clock: DeliveryClock = SYSTEM_CLOCK,
): Promise<DeliveryResult> {
  const started = clock.nowMs();
  const outcomes: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const remaining = policy.totalBudgetMs - (clock.nowMs() - started);
    const outcome = await attemptOnce(send, Math.max(1, Math.min(policy.attemptTimeoutMs, remaining)));
    outcomes.push(outcome.detail);
    const elapsedMs = clock.nowMs() - started;
    if (outcome.kind === "delivered") return { delivered: true, attempts: attempt, elapsedMs, outcomes };
    const decision = decideRetry(policy, attempt, elapsedMs, outcome, clock.random);
    if (!decision.retry) {
      return {
        delivered: false,
        attempts: attempt,
        elapsedMs,
        outcomes,
        failure: `${decision.why}; last: ${outcome.detail}`,
      };
    }
    await clock.sleep(decision.delayMs);
  }
}
