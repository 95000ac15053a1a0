/**
 * The GitHub notifier, through the octokit of `@actions/github` (which reads
 * GITHUB_API_URL, so GitHub Enterprise Server and the local fake both work
 * unchanged).
 */
import { getOctokit } from "@actions/github";
import type {
  DeploymentRecord,
  Notifier,
  OpenedPullRequest,
  PullRequestProposal,
  RecordedDeployment,
  StickyComment,
} from "./notifier.js";

export interface GitHubNotifierOptions {
  token: string;
  /** "owner/name", as in GITHUB_REPOSITORY. */
  repository: string;
  /** REST API base; GITHUB_API_URL when it is set (read now, not when the module loaded), else api.github.com. */
  apiUrl?: string;
}

/** GitHub keeps this much of a deployment status description. */
const MAX_DESCRIPTION = 140;

/** Deployments cutover creates carry this task, per migration, so they can be told apart. */
export function deploymentTask(migration: string): string {
  return `cutover:${migration}`;
}

export class GitHubNotifier implements Notifier {
  readonly kind = "github" as const;
  private readonly octokit: ReturnType<typeof getOctokit>;
  private readonly owner: string;
  private readonly repo: string;

  constructor(options: GitHubNotifierOptions) {
    const [owner, repo] = options.repository.split("/");
    if (!owner || !repo) throw new Error(`repository "${options.repository}" is not "owner/name"`);
    if (!options.token)
      throw new Error("a GitHub token is needed to comment, open pull requests and record deployments");
    this.owner = owner;
    this.repo = repo;
    const baseUrl = options.apiUrl ?? process.env.GITHUB_API_URL;
    this.octokit = getOctokit(options.token, baseUrl ? { baseUrl } : {});
  }

  async upsertStickyComment(issueNumber: number, marker: string, body: string): Promise<StickyComment> {
    const text = body.includes(marker) ? body : `${marker}\n${body}`;
    const comments = await this.octokit.paginate(this.octokit.rest.issues.listComments, {
      owner: this.owner,
      repo: this.repo,
      issue_number: issueNumber,
      per_page: 100,
    });
    const existing = comments.find((comment) => comment.body?.includes(marker));
    if (existing) {
      const updated = await this.octokit.rest.issues.updateComment({
        owner: this.owner,
        repo: this.repo,
        comment_id: existing.id,
        body: text,
      });
      return { id: updated.data.id, url: updated.data.html_url, created: false };
    }
    const created = await this.octokit.rest.issues.createComment({
      owner: this.owner,
      repo: this.repo,
      issue_number: issueNumber,
      body: text,
    });
    return { id: created.data.id, url: created.data.html_url, created: true };
  }

  async openPullRequest(proposal: PullRequestProposal): Promise<OpenedPullRequest> {
    const open = await this.octokit.rest.pulls.list({
      owner: this.owner,
      repo: this.repo,
      state: "open",
      head: `${this.owner}:${proposal.head}`,
      base: proposal.base,
      per_page: 1,
    });
    const existing = open.data[0];
    if (existing) {
      await this.octokit.rest.pulls.update({
        owner: this.owner,
        repo: this.repo,
        pull_number: existing.number,
        title: proposal.title,
        body: proposal.body,
      });
      return { number: existing.number, url: existing.html_url, created: false };
    }
    const created = await this.octokit.rest.pulls.create({
      owner: this.owner,
      repo: this.repo,
      head: proposal.head,
      base: proposal.base,
      title: proposal.title,
      body: proposal.body,
    });
    return { number: created.data.number, url: created.data.html_url, created: true };
  }

  async recordDeployment(record: DeploymentRecord): Promise<RecordedDeployment> {
    const description = record.description.slice(0, MAX_DESCRIPTION);
    const deployment = await this.octokit.rest.repos.createDeployment({
      owner: this.owner,
      repo: this.repo,
      ref: record.ref,
      environment: record.environment,
      task: deploymentTask(record.migration),
      description,
      // Status checks already ran before the merge; the ref is deployed as it is.
      required_contexts: [],
      auto_merge: false,
      production_environment: /prod/i.test(record.environment),
      payload: { migration: record.migration, phase: record.phase, ...record.payload },
    });
    if (!("id" in deployment.data)) {
      throw new Error(`GitHub did not create a deployment for ${record.migration} in ${record.environment}`);
    }
    const status = await this.octokit.rest.repos.createDeploymentStatus({
      owner: this.owner,
      repo: this.repo,
      deployment_id: deployment.data.id,
      state: record.state,
      description,
      environment: record.environment,
      ...(record.logUrl ? { log_url: record.logUrl } : {}),
      auto_inactive: true,
    });
    return { deploymentId: deployment.data.id, statusId: status.data.id };
  }
}
