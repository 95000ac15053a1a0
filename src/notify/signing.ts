/**
 * The webhook signature, in the style GitHub and Stripe sign theirs:
 *
 *   Cutover-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The timestamp is inside what is signed, so a captured request cannot be
 * replayed later than the receiver's tolerance (five minutes by default),
 * and within the tolerance the CloudEvent `id` lets the receiver drop
 * repeats. Several `v1=` entries may appear (one per key while a secret is
 * rotated); one matching entry is enough.
 *
 * Receivers can import {@link verifyWebhookSignature}, or rebuild it from
 * this comment with any HMAC library: docs/notifications.md has an example.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Header carrying the signature. */
export const SIGNATURE_HEADER = "cutover-signature";
/** Header repeating the CloudEvent id, so a receiver can dedupe before parsing. */
export const EVENT_ID_HEADER = "cutover-event-id";
/** How far a signature's timestamp may be from the receiver's clock by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The hex HMAC-SHA256 of "<timestamp>.<body>". */
export function signatureOf(secret: string, timestampSeconds: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestampSeconds}.${body}`, "utf8").digest("hex");
}

/** The Cutover-Signature header value for a body sent at `timestampSeconds`. */
export function signatureHeader(secret: string, timestampSeconds: number, body: string): string {
  return `t=${timestampSeconds},v1=${signatureOf(secret, timestampSeconds, body)}`;
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * Checks a received request: the header's timestamp within the tolerance of
 * `nowSeconds`, and one of its v1 signatures equal (in constant time) to the
 * HMAC of the raw body, exactly as received (not re-serialised JSON).
 */
export function verifyWebhookSignature(options: {
  secret: string;
  header: string | undefined;
  body: string;
  nowSeconds: number;
  toleranceSeconds?: number;
}): SignatureCheck {
  const { header, secret, body, nowSeconds } = options;
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!header) return { ok: false, reason: `no ${SIGNATURE_HEADER} header` };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [key, value] = part.trim().split("=", 2);
    if (key === "t" && value && /^\d+$/.test(value)) timestamp = Number(value);
    else if (key === "v1" && value && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined) return { ok: false, reason: "the signature header has no t=<unix seconds>" };
  if (signatures.length === 0) return { ok: false, reason: "the signature header has no v1=<hex> signature" };
  if (Math.abs(nowSeconds - timestamp) > tolerance) {
    return {
      ok: false,
      reason: `the timestamp ${timestamp} is ${Math.abs(nowSeconds - timestamp)} s from now, more than the ${tolerance} s tolerance`,
    };
  }
  const expected = Buffer.from(signatureOf(secret, timestamp, body), "hex");
  const matches = signatures.some((signature) => timingSafeEqual(Buffer.from(signature, "hex"), expected));
  return matches ? { ok: true, timestamp } : { ok: false, reason: "no signature matches the body" };
}
