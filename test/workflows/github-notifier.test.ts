// The GitHub notifier through the real octokit against the local fake GitHub
// API (sandbox/github.ts), reached through GITHUB_API_URL as on a runner.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "../../sandbox/github.js";
import { createNotifier, stickyMarker } from "../../src/providers/notifier.js";
import { createLocalRemote, git, type LocalRemote } from "../support/git-remote.js";

let github: FakeGitHub;
let remote: LocalRemote;
const previousApiUrl = process.env.GITHUB_API_URL;

beforeAll(async () => {
  remote = createLocalRemote({ "migrations.json": "{}\n" });
  const clone = remote.clone();
  git(clone, "checkout", "--quiet", "-b", "cutover/orders-api/canary-50");
  git(clone, "commit", "--quiet", "--allow-empty", "-m", "propose");
  git(clone, "push", "--quiet", "origin", "cutover/orders-api/canary-50");
  github = await startFakeGitHub({
    repository: "example/platform",
    token: "ghs_write",
    readOnlyToken: "ghs_read",
    gitDir: remote.bare,
    pullRequests: [{ number: 7, title: "Bump orders-api", head: "bump", base: "main" }],
  });
  process.env.GITHUB_API_URL = github.url;
});

afterAll(async () => {
  await github.close();
  if (previousApiUrl === undefined) delete process.env.GITHUB_API_URL;
  else process.env.GITHUB_API_URL = previousApiUrl;
});

const notifier = () =>
  createNotifier("github", { github: { token: "ghs_write", repository: "example/platform" } });

describe("github notifier", () => {
  it("keeps one sticky comment per marker, found across pages and updated in place", async () => {
    // 130 comments by people first, so the marker is only found by paging.
    for (let i = 0; i < 130; i++)
      github.comments.push({
        id: i + 1,
        issueNumber: 7,
        body: `comment ${i}`,
        user: { login: "octocat", type: "User" },
        created_at: "",
        updated_at: "",
      });
    const marker = stickyMarker("plan");
    const first = await notifier().upsertStickyComment(7, marker, "## Plan\n\nversion 1");
    expect(first.created).toBe(true);
    const second = await notifier().upsertStickyComment(7, marker, "## Plan\n\nversion 2");
    expect(second).toMatchObject({ id: first.id, created: false });
    const ours = github.comments.filter((comment) => comment.body.includes(marker));
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body).toBe(`${marker}\n## Plan\n\nversion 2`);
    expect(
      github.requests.filter((r) => r.method === "GET" && r.path.endsWith("/issues/7/comments")).length,
    ).toBe(4);
  });

  it("opens a pull request, then updates it rather than opening a second", async () => {
    const proposal = {
      head: "cutover/orders-api/canary-50",
      base: "main",
      title: "orders-api: canary-50",
      body: "v1",
    };
    const opened = await notifier().openPullRequest(proposal);
    expect(opened.created).toBe(true);
    const again = await notifier().openPullRequest({ ...proposal, body: "v2" });
    expect(again).toMatchObject({ number: opened.number, created: false });
    expect(github.pulls.filter((pr) => pr.head === proposal.head)).toHaveLength(1);
    expect(github.pulls.find((pr) => pr.number === opened.number)?.body).toBe("v2");
  });

  it("is refused like GitHub refuses: a head branch that does not exist (422), a read-only token (403), bad credentials (401)", async () => {
    await expect(
      notifier().openPullRequest({ head: "no-such-branch", base: "main", title: "t", body: "b" }),
    ).rejects.toMatchObject({ status: 422 });
    const readOnly = createNotifier("github", {
      github: { token: "ghs_read", repository: "example/platform" },
    });
    await expect(readOnly.upsertStickyComment(7, stickyMarker("plan"), "x")).rejects.toMatchObject({
      status: 403,
    });
    const stranger = createNotifier("github", { github: { token: "nope", repository: "example/platform" } });
    await expect(stranger.upsertStickyComment(7, stickyMarker("plan"), "x")).rejects.toMatchObject({
      status: 401,
    });
    expect(() => createNotifier("slack", {})).toThrow(/notifier "slack" is not known; known kinds: github/);
  });

  it("records a deployment per shift; a newer success makes the previous one inactive", async () => {
    const first = await notifier().recordDeployment({
      environment: "production",
      ref: "main",
      migration: "orders-api",
      phase: "canary-10",
      state: "success",
      description: "10 % on lambda",
      logUrl: "https://github.com/example/platform/actions/runs/1",
    });
    await notifier().recordDeployment({
      environment: "production",
      ref: "main",
      migration: "orders-api",
      phase: "canary-50",
      state: "success",
      description: "50 % on lambda",
    });
    const deployments = github.deployments.filter((d) => d.task === "cutover:orders-api");
    expect(deployments.map((d) => d.environment)).toEqual(["production", "production"]);
    expect(deployments[0]!.id).toBe(first.deploymentId);
    expect(deployments[0]!.statuses.map((s) => s.state)).toEqual(["success", "inactive"]);
    expect(deployments[1]!.statuses.map((s) => s.state)).toEqual(["success"]);
    expect(deployments[0]!.payload).toMatchObject({ migration: "orders-api", phase: "canary-10" });
    await expect(
      notifier().recordDeployment({
        environment: "production",
        ref: "no-such-ref",
        migration: "orders-api",
        phase: null,
        state: "success",
        description: "x",
      }),
    ).rejects.toMatchObject({ status: 422 });
  });
});
