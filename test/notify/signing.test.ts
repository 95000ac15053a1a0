import { describe, expect, it } from "vitest";
import { signatureHeader, signatureOf, verifyWebhookSignature } from "../../src/notify/signing.js";

// Computed independently of this code with:
//   printf '%s' '1700000000.{"specversion":"1.0","id":"abc"}' | openssl dgst -sha256 -hmac 'whsec_test_vector_key'
const VECTOR = {
  secret: "whsec_test_vector_key",
  timestamp: 1_700_000_000,
  body: '{"specversion":"1.0","id":"abc"}',
  signature: "ff0f74598a39840240173a2bb9e110d3ba9e2287829a1cecb55ef46ac4aaccfd",
};

describe("webhook signatures", () => {
  it("match the fixed test vector", () => {
    expect(signatureOf(VECTOR.secret, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    expect(signatureHeader(VECTOR.secret, VECTOR.timestamp, VECTOR.body)).toBe(
      `t=${VECTOR.timestamp},v1=${VECTOR.signature}`,
    );
  });

  it("verify within the tolerance, with one matching signature among several (key rotation)", () => {
    const header = `t=${VECTOR.timestamp},v1=${"0".repeat(64)},v1=${VECTOR.signature}`;
    expect(
      verifyWebhookSignature({
        secret: VECTOR.secret,
        header,
        body: VECTOR.body,
        nowSeconds: VECTOR.timestamp + 299,
      }),
    ).toEqual({ ok: true, timestamp: VECTOR.timestamp });
  });

  it("refuse a replay past the tolerance, a changed body, a wrong key and a malformed header", () => {
    const header = `t=${VECTOR.timestamp},v1=${VECTOR.signature}`;
    const base = { secret: VECTOR.secret, header, body: VECTOR.body, nowSeconds: VECTOR.timestamp };
    const late = verifyWebhookSignature({ ...base, nowSeconds: VECTOR.timestamp + 301 });
    expect(late).toMatchObject({ ok: false });
    expect(late.ok ? "" : late.reason).toMatch(/301 s from now, more than the 300 s tolerance/);
    expect(verifyWebhookSignature({ ...base, body: `${VECTOR.body} ` })).toEqual({
      ok: false,
      reason: "no signature matches the body",
    });
    expect(verifyWebhookSignature({ ...base, secret: "other" }).ok).toBe(false);
    expect(verifyWebhookSignature({ ...base, header: `v1=${VECTOR.signature}` })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no t=/),
    });
    expect(verifyWebhookSignature({ ...base, header: undefined }).ok).toBe(false);
  });
});
