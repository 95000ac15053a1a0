// The test GitHub's repository rulesets: GitHub's shapes through the real
// octokit, the rules active on a branch, and each refusal GitHub makes.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "../../sandbox/github.js";
import { refPatternMatches } from "../../sandbox/github-rulesets.js";
import { repositoryClient } from "../../src/cli/github-settings.js";

const TOKEN = "ghs_actions";
let github: FakeGitHub;

beforeEach(async () => {
  github = await startFakeGitHub({ repository: "example/platform", token: TOKEN });
});
afterEach(async () => {
  await github.close();
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${github.url}/repos/example/platform${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const mainRuleset = {
  name: "main",
  enforcement: "active",
  conditions: { ref_name: { include: ["~DEFAULT_BRANCH"], exclude: [] } },
  rules: [{ type: "deletion" }, { type: "non_fast_forward" }],
};

describe("repository rulesets", () => {
  it("creates, reads, lists, updates and deletes a ruleset in GitHub's shapes", async () => {
    const octokit = repositoryClient(TOKEN, github.url);
    const { data: created, status } = await octokit.request("POST /repos/{owner}/{repo}/rulesets", {
      owner: "example",
      repo: "platform",
      name: "main",
      enforcement: "active",
      conditions: { ref_name: { include: ["~DEFAULT_BRANCH"], exclude: [] } },
      rules: [{ type: "deletion" }],
    });
    expect(status).toBe(201);
    expect(created).toMatchObject({
      name: "main",
      target: "branch",
      source_type: "Repository",
      source: "example/platform",
      enforcement: "active",
      bypass_actors: [],
      current_user_can_bypass: "never",
      rules: [{ type: "deletion" }],
      _links: { self: { href: `${github.url}/repos/example/platform/rulesets/${created.id}` } },
    });
    const { data: listed } = await octokit.request("GET /repos/{owner}/{repo}/rulesets", {
      owner: "example",
      repo: "platform",
    });
    expect(listed.map((ruleset) => ruleset.name)).toEqual(["main"]);
    // The list gives summaries: no rules, conditions or bypass.
    expect(listed[0]).not.toHaveProperty("rules");
    const { data: updated } = await octokit.request("PUT /repos/{owner}/{repo}/rulesets/{ruleset_id}", {
      owner: "example",
      repo: "platform",
      ruleset_id: created.id,
      bypass_actors: [{ actor_type: "Integration", actor_id: 15368, bypass_mode: "always" }],
    });
    expect(updated.current_user_can_bypass).toBe("always");
    expect(updated.rules).toEqual([{ type: "deletion" }]);
    expect((await call("DELETE", `/rulesets/${created.id}`)).status).toBe(204);
    expect((await call("GET", `/rulesets/${created.id}`)).status).toBe(404);
  });

  it("says what the GitHub Actions token may bypass", async () => {
    const modes: Record<string, string> = {};
    for (const [name, actors] of [
      ["none", []],
      ["always", [{ actor_type: "Integration", actor_id: 15368, bypass_mode: "always" }]],
      ["pull requests", [{ actor_type: "Integration", actor_id: 15368, bypass_mode: "pull_request" }]],
      ["another app", [{ actor_type: "Integration", actor_id: 99, bypass_mode: "always" }]],
      ["admins", [{ actor_type: "RepositoryRole", actor_id: 5, bypass_mode: "always" }]],
    ] as const) {
      const { body } = await call("POST", "/rulesets", { ...mainRuleset, name, bypass_actors: actors });
      modes[name] = String((await call("GET", `/rulesets/${body.id}`)).body.current_user_can_bypass);
    }
    expect(modes).toEqual({
      none: "never",
      always: "always",
      "pull requests": "pull_requests_only",
      "another app": "never",
      admins: "never",
    });
  });

  it("lists only the active rules that apply to a branch, with their ruleset", async () => {
    const main = await call("POST", "/rulesets", mainRuleset);
    const releases = await call("POST", "/rulesets", {
      name: "releases",
      enforcement: "active",
      conditions: { ref_name: { include: ["refs/heads/release/*"], exclude: ["refs/heads/release/old"] } },
      rules: [{ type: "update" }],
    });
    await call("POST", "/rulesets", { ...mainRuleset, name: "evaluated", enforcement: "evaluate" });
    await call("POST", "/rulesets", { ...mainRuleset, name: "off", enforcement: "disabled" });
    await call("POST", "/rulesets", {
      name: "tags",
      target: "tag",
      enforcement: "active",
      conditions: { ref_name: { include: ["~ALL"], exclude: [] } },
      rules: [{ type: "deletion" }],
    });
    const rules = async (branch: string) =>
      (await call("GET", `/rules/branches/${encodeURIComponent(branch)}`)).body as unknown as Array<{
        type: string;
        ruleset_id: number;
      }>;
    expect(await rules("main")).toEqual([
      {
        type: "deletion",
        ruleset_source_type: "Repository",
        ruleset_source: "example/platform",
        ruleset_id: main.body.id,
      },
      {
        type: "non_fast_forward",
        ruleset_source_type: "Repository",
        ruleset_source: "example/platform",
        ruleset_id: main.body.id,
      },
    ]);
    expect((await rules("release/1.2")).map((rule) => [rule.type, rule.ruleset_id])).toEqual([
      ["update", releases.body.id],
    ]);
    expect(await rules("release/old")).toEqual([]);
    expect(await rules("release/1/hotfix")).toEqual([]); // "*" does not cross "/"
    expect(await rules("feature")).toEqual([]);
  });

  it("matches ref patterns as fnmatch with FNM_PATHNAME", () => {
    expect(refPatternMatches("refs/heads/*", "refs/heads/main")).toBe(true);
    expect(refPatternMatches("refs/heads/*", "refs/heads/a/b")).toBe(false);
    expect(refPatternMatches("refs/heads/**/*", "refs/heads/a/b")).toBe(true);
    expect(refPatternMatches("refs/heads/**/*", "refs/heads/main")).toBe(true);
    expect(refPatternMatches("refs/heads/v?.x", "refs/heads/v1.x")).toBe(true);
    expect(refPatternMatches("refs/heads/v[0-9]", "refs/heads/v7")).toBe(true);
    expect(refPatternMatches("refs/heads/v[!0-9]", "refs/heads/v7")).toBe(false);
    expect(refPatternMatches("refs/heads/main", "refs/heads/main2")).toBe(false);
  });

  it("refuses what GitHub refuses, with 422 and the reason", async () => {
    const refused = async (body: Record<string, unknown>, reason: RegExp) => {
      const answer = await call("POST", "/rulesets", body);
      expect(answer.status).toBe(422);
      expect(answer.body.message).toBe("Validation Failed");
      expect((answer.body.errors as string[]).join(" ")).toMatch(reason);
    };
    await refused({ enforcement: "active" }, /"name" wasn't supplied/);
    await refused({ name: "x" }, /"enforcement" wasn't supplied/);
    await refused(
      { name: "x", enforcement: "on" },
      /\/enforcement: "on" is not a possible value.*disabled, active, evaluate/,
    );
    await refused({ name: "x", enforcement: "active", target: "repository" }, /\/target/);
    await refused(
      { name: "x", enforcement: "active", bypass_actors: [{ actor_type: "Robot", actor_id: 1 }] },
      /\/bypass_actors\/0\/actor_type/,
    );
    await refused(
      {
        name: "x",
        enforcement: "active",
        bypass_actors: [{ actor_type: "Integration", bypass_mode: "always" }],
      },
      /actor_id: an integer is required for Integration/,
    );
    await refused(
      {
        name: "x",
        enforcement: "active",
        bypass_actors: [{ actor_type: "Team", actor_id: 1, bypass_mode: "sometimes" }],
      },
      /bypass_mode/,
    );
    await refused(
      {
        name: "x",
        enforcement: "active",
        bypass_actors: [{ actor_type: "DeployKey", bypass_mode: "pull_request" }],
      },
      /pull_request does not apply to DeployKey/,
    );
    await refused(
      { name: "x", enforcement: "active", conditions: { ref_name: { include: ["main"] } } },
      /Invalid target patterns: "main"/,
    );
    await refused(
      {
        name: "x",
        enforcement: "active",
        target: "tag",
        conditions: { ref_name: { include: ["~DEFAULT_BRANCH"] } },
      },
      /Invalid target patterns/,
    );
    await refused({ name: "x", enforcement: "active", rules: [{ type: "no_force" }] }, /\/rules\/0\/type/);
    await refused(
      { name: "x", enforcement: "active", rules: [{ type: "deletion" }, { type: "deletion" }] },
      /'deletion' is given more than once/,
    );
    await refused(
      { name: "x", enforcement: "active", rules: [{ type: "max_file_size" }] },
      /not allowed for a branch ruleset/,
    );
    await refused(
      { name: "x", enforcement: "active", target: "tag", rules: [{ type: "pull_request" }] },
      /Invalid rule 'pull_request'/,
    );
    await refused(
      {
        name: "x",
        enforcement: "active",
        rules: [{ type: "pull_request", parameters: { required_approving_review_count: 11 } }],
      },
      /required_approving_review_count/,
    );
    await refused(
      {
        name: "x",
        enforcement: "active",
        rules: [{ type: "commit_message_pattern", parameters: { pattern: "x", operator: "glob" } }],
      },
      /operator/,
    );
    expect((await call("POST", "/rulesets", mainRuleset)).status).toBe(201);
    await refused({ ...mainRuleset, name: "MAIN" }, /Name must be unique/);
    const other = await call("POST", "/rulesets", { ...mainRuleset, name: "other" });
    const rename = await call("PUT", `/rulesets/${other.body.id}`, { name: "main" });
    expect(rename.status).toBe(422);
    // Kept conditions must fit a changed target: ~DEFAULT_BRANCH names no tag.
    expect((await call("PUT", `/rulesets/${other.body.id}`, { target: "tag" })).status).toBe(422);
    expect(github.settings.rulesets.find((ruleset) => ruleset.name === "other")?.target).toBe("branch");
    expect(github.settings.rulesets.map((ruleset) => ruleset.name)).toEqual(["main", "other"]);
    expect((await call("GET", "/rulesets/12345")).status).toBe(404);
    expect((await call("PUT", "/rulesets/abc", { name: "y" })).status).toBe(404);
    expect((await call("DELETE", "/rulesets/12345")).status).toBe(404);
  });
});
