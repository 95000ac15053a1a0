// The release workflow publishes only what scripts/release.mjs prepared: on a vX.Y.Z tag, after the tag is
// verified against package.json and the changelog and after the dist check, and it moves vX.
import { describe, expect, it } from "vitest";
import { workflowFiles } from "./rules.js";

const release = workflowFiles().find((file) => file.name === "release.yml")!;

describe("release.yml", () => {
  it("runs on release tags only", () => {
    expect(release.doc.on).toEqual({ push: { tags: ["v[0-9]+.[0-9]+.[0-9]+"] } });
  });

  it("verifies the tag and the bundles before it publishes, then moves the major tag", () => {
    const steps = release.doc.jobs.publish!.steps!;
    const at = (pattern: RegExp) => steps.findIndex((step) => pattern.test(step.run ?? ""));
    const verify = at(/node scripts\/release\.mjs verify "\$TAG"/);
    const dist = at(/^npm run check-dist$/);
    const publish = at(/gh release create "\$TAG"/);
    expect(verify).toBeGreaterThan(-1);
    expect(dist).toBeGreaterThan(verify);
    expect(publish).toBeGreaterThan(dist);
    const script = steps[publish]!.run!;
    expect(script).toContain('node scripts/release.mjs notes "$TAG"');
    expect(script.indexOf("gh release create")).toBeLessThan(
      script.indexOf('git push --force origin "refs/tags/$major"'),
    );
  });
});
