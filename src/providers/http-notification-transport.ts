/**
 * POSTs of notification bodies over HTTP(S) with the platform's fetch,
 * shared by the Slack and webhook transports: one attempt per call, its
 * answer classified for the retry policy (429 and 5xx retryable with their
 * Retry-After, other 4xx refused).
 */
import { type AttemptOutcome, classifyHttpStatus } from "../notify/retry.js";

/** Answers are read only this far: a receiver's body is not evidence. */
const MAX_ANSWER_BYTES = 4096;

/** POSTs `body` to `url` once; the outcome carries the status and a little of the answer when refused. */
export async function postOnce(
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<AttemptOutcome> {
  const response = await fetch(url, { method: "POST", headers, body, signal, redirect: "error" });
  const answer = await readSome(response);
  const outcome = classifyHttpStatus(response.status, response.headers.get("retry-after"), Date.now());
  if (outcome.kind === "rejected" && answer) return { ...outcome, detail: `${outcome.detail}: ${answer}` };
  return outcome;
}

async function readSome(response: Response): Promise<string> {
  try {
    const text = await response.text();
    return text.slice(0, MAX_ANSWER_BYTES).replace(/\s+/g, " ").trim().slice(0, 200);
  } catch {
    return "";
  }
}
