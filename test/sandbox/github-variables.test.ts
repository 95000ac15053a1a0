// The test GitHub's Actions variables, at repository and environment level:
// GitHub's shapes through the real octokit, and each refusal GitHub makes.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "../../sandbox/github.js";
import { repositoryClient } from "../../src/cli/github-settings.js";

const TOKEN = "ghp_admin";
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
    headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe("Actions variables", () => {
  for (const [level, base] of [
    ["repository", "/actions/variables"],
    ["environment", "/environments/cutover-production/variables"],
  ] as const) {
    it(`${level}: creates, reads, updates and deletes, names upper-cased and case-insensitive`, async () => {
      await call("PUT", "/environments/cutover-production", {});
      expect(await call("POST", base, { name: "cutover_aws_region", value: "eu-west-1" })).toEqual({
        status: 201,
        body: {},
      });
      const read = await call("GET", `${base}/Cutover_AWS_Region`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ name: "CUTOVER_AWS_REGION", value: "eu-west-1" });
      expect((await call("PATCH", `${base}/CUTOVER_AWS_REGION`, { value: "us-east-1" })).status).toBe(204);
      expect((await call("GET", `${base}/CUTOVER_AWS_REGION`)).body.value).toBe("us-east-1");
      expect((await call("PATCH", `${base}/CUTOVER_AWS_REGION`, { name: "REGION" })).status).toBe(204);
      expect((await call("GET", `${base}/CUTOVER_AWS_REGION`)).status).toBe(404);
      expect((await call("DELETE", `${base}/REGION`)).status).toBe(204);
      expect((await call("DELETE", `${base}/REGION`)).status).toBe(404);
      expect((await call("GET", base)).body).toEqual({ total_count: 0, variables: [] });
    });

    it(`${level}: refuses what GitHub refuses`, async () => {
      await call("PUT", "/environments/cutover-production", {});
      for (const name of ["GITHUB_TOKEN_X", "github_x", "1ROLE", "ROLE-ARN", "ROLE ARN", ""]) {
        const answer = await call("POST", base, { name, value: "x" });
        expect([name, answer.status]).toEqual([name, 422]);
      }
      expect((await call("POST", base, { name: "ROLE" })).status).toBe(422);
      expect((await call("POST", base, { name: "ROLE", value: "x".repeat(48 * 1024 + 1) })).status).toBe(422);
      expect((await call("POST", base, { name: "ROLE", value: "a" })).status).toBe(201);
      const again = await call("POST", base, { name: "role", value: "b" });
      expect(again.status).toBe(409);
      expect(again.body.message).toMatch(/already exists/i);
      expect((await call("POST", base, { name: "OTHER", value: "c" })).status).toBe(201);
      expect((await call("PATCH", `${base}/OTHER`, { name: "ROLE" })).status).toBe(409);
      expect((await call("PATCH", `${base}/NONE`, { value: "x" })).status).toBe(404);
      expect((await call("GET", `${base}/ROLE`)).body.value).toBe("a");
    });
  }

  it("answers 404 for the variables of an environment that does not exist, and drops them with it", async () => {
    expect((await call("GET", "/environments/none/variables")).status).toBe(404);
    expect((await call("POST", "/environments/none/variables", { name: "A", value: "b" })).status).toBe(404);
    await call("PUT", "/environments/gone", {});
    await call("POST", "/environments/gone/variables", { name: "A", value: "b" });
    await call("DELETE", "/environments/gone");
    await call("PUT", "/environments/gone", {});
    expect((await call("GET", "/environments/gone/variables")).body.total_count).toBe(0);
  });

  it("keeps an environment's variables apart from the repository's", async () => {
    await call("PUT", "/environments/cutover-production", {});
    await call("POST", "/actions/variables", { name: "CUTOVER_AWS_ROLE_ARN", value: "repo" });
    expect(
      (await call("GET", "/environments/cutover-production/variables/CUTOVER_AWS_ROLE_ARN")).status,
    ).toBe(404);
  });

  it("pages lists as GitHub does (at most 30 a page) for octokit's paginator", async () => {
    for (let i = 0; i < 35; i++)
      await call("POST", "/actions/variables", { name: `V${i}`, value: String(i) });
    const first = await call("GET", "/actions/variables");
    expect(first.body.total_count).toBe(35);
    expect((first.body.variables as unknown[]).length).toBe(10);
    expect(((await call("GET", "/actions/variables?per_page=100")).body.variables as unknown[]).length).toBe(
      30,
    );
    const octokit = repositoryClient(TOKEN, github.url);
    const all = await octokit.paginate("GET /repos/{owner}/{repo}/actions/variables", {
      owner: "example",
      repo: "platform",
      per_page: 30,
    });
    expect(all).toHaveLength(35);
  });
});
