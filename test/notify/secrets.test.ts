import { describe, expect, it } from "vitest";
import { parseNotificationSecrets, resolveSink, urlProblem } from "../../src/notify/secrets.js";

describe("the notification-secrets input", () => {
  it("reads NAME=value lines (values may hold '=') and a JSON object", () => {
    expect(parseNotificationSecrets("A=1\n# comment\n\nB=x=y\r\n")).toEqual({
      values: { A: "1", B: "x=y" },
      problems: [],
    });
    expect(parseNotificationSecrets('{"A": "1", "B": "2"}')).toEqual({
      values: { A: "1", B: "2" },
      problems: [],
    });
  });

  it("reports what it cannot read without echoing any value", () => {
    const lines = parseNotificationSecrets("A=1\nnot a pair s3cr3t\n");
    expect(lines.values).toEqual({ A: "1" });
    expect(lines.problems).toEqual(["line 2 is not NAME=value"]);
    const json = parseNotificationSecrets('{"A": 5, "B": "ok"');
    expect(json.problems.join(" ")).not.toContain("ok");
    expect(parseNotificationSecrets('{"A": 5}').problems).toEqual(['"A" is not a string']);
  });
});

describe("sink secrets at run time", () => {
  it("accept https, and plain http only to this machine", () => {
    expect(urlProblem("https://hooks.slack.com/services/T/B/X", "the URL")).toBeUndefined();
    expect(urlProblem("http://127.0.0.1:8080/hook", "the URL")).toBeUndefined();
    expect(urlProblem("http://example.com/hook", "the URL")).toMatch(/give an https:\/\/ URL/);
    expect(urlProblem("ftp://example.com/", "the URL")).toMatch(/ftp URL/);
    expect(urlProblem("not a url", "the URL")).toBe("the URL is not a URL");
  });

  it("name every missing reference of a webhook at once, and return what to mask", () => {
    const missing = resolveSink(
      { kind: "webhook", name: "w", url: { env: "HOOK_URL" }, signingSecret: { secret: "HOOK_KEY" } },
      { secrets: {}, env: {} },
    );
    expect(missing).toEqual({
      ok: false,
      problem:
        "the URL (environment variable HOOK_URL) is not set; the signing secret (secret HOOK_KEY) is not set",
      values: [],
    });
    const found = resolveSink(
      { kind: "webhook", name: "w", url: { env: "HOOK_URL" }, signingSecret: { secret: "HOOK_KEY" } },
      { secrets: { HOOK_KEY: "k" }, env: { HOOK_URL: "https://x.example/h" } },
    );
    expect(found).toEqual({
      ok: true,
      secrets: { url: "https://x.example/h", signingSecret: "k" },
      values: ["https://x.example/h", "k"],
    });
  });
});
