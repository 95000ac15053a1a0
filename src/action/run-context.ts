/** Facts about the workflow run an action executes in, read from the runner's environment. */
export interface RunContext {
  /** `<run id>-<attempt>`, or "local" outside a workflow; ties one migration's log lines together across jobs. */
  correlationId: string;
  runUrl?: string;
  repository?: string;
  actor?: string;
  workspace: string;
  eventName?: string;
  eventPath?: string;
}

export function readRunContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  const runId = env.GITHUB_RUN_ID;
  const server = env.GITHUB_SERVER_URL ?? "https://github.com";
  return {
    correlationId: runId ? `${runId}-${env.GITHUB_RUN_ATTEMPT ?? "1"}` : "local",
    runUrl:
      runId && env.GITHUB_REPOSITORY ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${runId}` : undefined,
    repository: env.GITHUB_REPOSITORY,
    actor: env.GITHUB_ACTOR,
    workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
    eventName: env.GITHUB_EVENT_NAME,
    eventPath: env.GITHUB_EVENT_PATH,
  };
}
