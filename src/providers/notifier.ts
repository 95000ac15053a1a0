/**
 * The notifier: where people see what cutover decided. PR comments, pull
 * requests proposing a spec change, and deployments per environment. One
 * implementation per file; {@link createNotifier} picks one by kind and
 * refuses kinds it does not know.
 */
import { GitHubNotifier, type GitHubNotifierOptions } from "./github-notifier.js";

/** A comment that exists once per pull request and is updated in place. */
export interface StickyComment {
  id: number;
  url?: string;
  /** False when an existing comment was updated. */
  created: boolean;
}

export interface PullRequestProposal {
  /** Branch holding the proposed change (already pushed). */
  head: string;
  /** Branch the change is proposed to. */
  base: string;
  title: string;
  body: string;
}

export interface OpenedPullRequest {
  number: number;
  url?: string;
  /** False when an open pull request from the same branch was updated instead. */
  created: boolean;
}

/** GitHub deployment states cutover uses. */
export type DeploymentState = "in_progress" | "success" | "failure" | "inactive" | "error";

export interface DeploymentRecord {
  /** GitHub environment the phase names. */
  environment: string;
  /** Commit or branch the deployment refers to. */
  ref: string;
  migration: string;
  phase: string | null;
  state: DeploymentState;
  /** One line shown on the Environments page (GitHub keeps 140 characters). */
  description: string;
  logUrl?: string;
  /** Extra detail kept with the deployment (weights, change id). */
  payload?: Record<string, unknown>;
}

export interface RecordedDeployment {
  deploymentId: number;
  statusId: number;
}

/** Tells people what happened. */
export interface Notifier {
  readonly kind: NotifierKind;
  /** Creates the comment carrying `marker`, or updates the one that already does. */
  upsertStickyComment(issueNumber: number, marker: string, body: string): Promise<StickyComment>;
  /** Opens a pull request, or updates the open one from the same branch. */
  openPullRequest(proposal: PullRequestProposal): Promise<OpenedPullRequest>;
  /** Creates a deployment in the environment with its status, so the environment shows where the migration stands. */
  recordDeployment(record: DeploymentRecord): Promise<RecordedDeployment>;
}

export type NotifierKind = "github";

export interface NotifierOptions {
  github?: GitHubNotifierOptions;
}

const NOTIFIER_FACTORIES: Record<NotifierKind, (options: NotifierOptions) => Notifier> = {
  github: (options) => {
    if (!options.github) throw new Error("the github notifier needs its options (token, repository)");
    return new GitHubNotifier(options.github);
  },
};

/** Creates the notifier of the given kind; an unknown kind is an error naming the kinds that exist. */
export function createNotifier(kind: string, options: NotifierOptions): Notifier {
  if (!Object.hasOwn(NOTIFIER_FACTORIES, kind)) {
    throw new Error(
      `notifier "${kind}" is not known; known kinds: ${Object.keys(NOTIFIER_FACTORIES).join(", ")}`,
    );
  }
  return NOTIFIER_FACTORIES[kind as NotifierKind](options);
}

/** The hidden HTML comment that marks cutover's sticky comment of one kind. */
export function stickyMarker(kind: string): string {
  return `<!-- cutover:${kind} -->`;
}
