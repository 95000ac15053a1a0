/**
 * `cutover init`: scaffolds a repository that adopts cutover (see
 * init-scaffold.ts for what it writes). Values come from flags, or from
 * prompts when it runs in a terminal; whatever is left takes the example
 * default and is listed in CUTOVER.md's checklist. Never overwrites a file
 * unless told to with --force, and checks every file before writing any.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { fileURLToPath } from "node:url";
import { type CliCommand, EXIT, parseOptions, UsageError } from "./command.js";
import { checkAnswers, defaultAnswers, type InitAnswers, scaffoldFiles } from "./init-scaffold.js";

/** Asks one question with a default; undefined when no one can be asked. */
export type Prompt = (question: string, fallback: string) => Promise<string | undefined>;

/** Which flag sets which answer, with the question a terminal is asked. */
const QUESTIONS: ReadonlyArray<{
  option: string;
  key: keyof InitAnswers;
  question: string;
  example?: boolean;
}> = [
  { option: "source", key: "source", question: "GitHub repository cutover is used from (owner/name)" },
  { option: "ref", key: "ref", question: "Version of cutover to pin (tag or SHA)" },
  { option: "id", key: "id", question: "Migration id" },
  {
    option: "record-name",
    key: "recordName",
    question: "Route 53 record the migration routes",
    example: true,
  },
  { option: "hosted-zone-id", key: "hostedZoneId", question: "Hosted zone id of that record", example: true },
  { option: "ecs-cluster", key: "ecsCluster", question: "ECS cluster of the old side", example: true },
  { option: "ecs-service", key: "ecsService", question: "ECS service of the old side", example: true },
  {
    option: "load-balancer",
    key: "loadBalancer",
    question: "Old side's load balancer (app/<name>/<id>)",
    example: true,
  },
  {
    option: "target-group",
    key: "targetGroup",
    question: "Old side's target group (targetgroup/<name>/<id>)",
    example: true,
  },
  {
    option: "function-name",
    key: "functionName",
    question: "Lambda function of the new side",
    example: true,
  },
  { option: "alias", key: "alias", question: "Lambda alias the record's new side calls" },
  { option: "api-id", key: "apiId", question: "New side's API Gateway HTTP API id", example: true },
  { option: "api-stage", key: "apiStage", question: "Stage of that API" },
  {
    option: "staging-environment",
    key: "stagingEnvironment",
    question: "GitHub environment approving staging",
  },
  {
    option: "production-environment",
    key: "productionEnvironment",
    question: "GitHub environment approving production phases",
  },
  { option: "branch", key: "branch", question: "Default branch" },
  { option: "owners", key: "owners", question: "Code owners of workflows and load tests" },
];

/** cutover's own package.json: the version the workflows pin by default and, when set, where it lives. */
function ownPackage(): { version: string; source?: string } {
  const file = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "package.json");
  const pkg = JSON.parse(readFileSync(file, "utf8")) as {
    version: string;
    repository?: string | { url?: string };
  };
  const url = typeof pkg.repository === "string" ? pkg.repository : pkg.repository?.url;
  const match = url ? /github\.com[/:]([^/]+\/[^/.]+?)(\.git)?$/.exec(url) : null;
  return match?.[1] ? { version: pkg.version, source: match[1] } : { version: pkg.version };
}

/** Prompts on the process's terminal; asks nothing when stdin or stdout is not one. */
export const terminalPrompt: Prompt = async (question, fallback) => {
  if (!process.stdin.isTTY || !process.stdout.isTTY) return undefined;
  const terminal = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = (await terminal.question(`${question}${fallback ? ` [${fallback}]` : ""}: `)).trim();
    return answer || fallback;
  } finally {
    terminal.close();
  }
};

const USAGE = `Usage: cutover init [options]

Scaffolds this repository to run cutover: migrations.json for one migration, load-tests/ examples,
thin workflows in .github/workflows/ calling cutover's reusable workflows pinned to a version,
status/ with its README, .github/CODEOWNERS and .github/cutover.json, and CUTOVER.md: the checklist
of what to set up on GitHub and AWS. Values come from the options below or, in a terminal, from
prompts; the rest take example values that CUTOVER.md lists. Then run: cutover validate

  --source <owner/name>        the GitHub repository cutover is used from${ownPackage().source ? ` (default: ${ownPackage().source})` : " (required)"}
  --ref <ref>                  the tag or SHA the workflows pin (default: v<major> of this cutover)
  --id <id>                    migration id (default: from the directory's name)
  --record-name <name>         Route 53 record the migration routes
  --hosted-zone-id <id>        hosted zone of that record
  --ecs-cluster <name>         old side: ECS cluster
  --ecs-service <name>         old side: ECS service (default: the id)
  --load-balancer <dimension>  old side: its ALB, app/<name>/<id>
  --target-group <dimension>   old side: its target group, targetgroup/<name>/<id>
  --function-name <name>       new side: Lambda function (default: the id)
  --alias <name>               new side: Lambda alias (default: live)
  --api-id <id>                new side: API Gateway HTTP API id
  --api-stage <stage>          new side: that API's stage (default: $default)
  --staging-environment <env>  GitHub environment approving staging (default: staging)
  --production-environment <env>  GitHub environment approving production (default: production)
  --branch <name>              default branch (default: main)
  --owners <owners>            code owners, e.g. "@acme/platform"
  --dir <dir>                  repository to scaffold (default: the current directory)
  --force                      overwrite files that exist
  --yes                        ask nothing, even in a terminal

Exit codes: 0 written, 1 a file exists or a value is refused, 2 usage error.`;

/** The init command, asking its questions through `prompt`. */
export function createInitCommand(prompt: Prompt = terminalPrompt): CliCommand {
  return {
    name: "init",
    summary: "scaffold a repository that adopts cutover (spec, workflows, checklist)",
    usage: USAGE,
    async run(args, io) {
      const options = Object.fromEntries([
        ...QUESTIONS.map(({ option }) => [option, { type: "string" as const }]),
        ["dir", { type: "string" as const }],
        ["force", { type: "boolean" as const }],
        ["yes", { type: "boolean" as const }],
      ]);
      const { values } = parseOptions(args, options, 0);
      const flags = values as Record<string, string | boolean | undefined>;
      const dir = resolve(io.cwd, typeof flags.dir === "string" ? flags.dir : ".");
      const own = ownPackage();
      const answers = defaultAnswers(basename(dir), own.source ?? "", `v${own.version.split(".")[0]}`);
      const examples: string[] = [];
      for (const { option, key, question, example } of QUESTIONS) {
        const given = flags[option];
        if (typeof given === "string") {
          answers[key] = given;
        } else {
          const asked = flags.yes ? undefined : await prompt(question, answers[key]);
          if (asked !== undefined) answers[key] = asked;
          else if (example) examples.push(`${option} ${answers[key]}`);
        }
        // The service and function default to the id, whatever it was set to.
        if (key === "id" && typeof flags["ecs-service"] !== "string") answers.ecsService = answers.id;
        if (key === "id" && typeof flags["function-name"] !== "string") answers.functionName = answers.id;
        if (key === "id" && typeof flags["load-balancer"] !== "string")
          answers.loadBalancer = `app/${answers.id}/0123456789abcdef`;
        if (key === "id" && typeof flags["target-group"] !== "string")
          answers.targetGroup = `targetgroup/${answers.id}/0123456789abcdef`;
      }
      if (!answers.source) {
        throw new UsageError(
          "--source: name the GitHub repository cutover is used from, as owner/name (for example --source acme/cutover)",
        );
      }
      const problems = checkAnswers(answers);
      if (problems.length > 0) {
        io.stderr(`cutover init: ${problems.join("\ncutover init: ")}\n`);
        return EXIT.invalid;
      }
      const files = scaffoldFiles(answers, examples);
      const existing = Object.keys(files).filter((path) => existsSync(join(dir, path)));
      if (existing.length > 0 && !flags.force) {
        io.stderr(
          `cutover init: ${existing.map((path) => join(dir, path)).join(", ")} already ${existing.length === 1 ? "exists" : "exist"}; nothing was written (--force overwrites)\n`,
        );
        return EXIT.invalid;
      }
      for (const [path, content] of Object.entries(files)) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), content);
      }
      io.stdout(
        `${Object.keys(files)
          .map((path) => `wrote ${path}${existing.includes(path) ? " (overwritten)" : ""}`)
          .join("\n")}\n\nNext: cutover validate, then work through CUTOVER.md.\n`,
      );
      return EXIT.ok;
    },
  };
}

export const initCommand = createInitCommand();
