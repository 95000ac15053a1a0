/**
 * Which branch the status files are committed to: the configured one, else
 * the repository's default branch as the event payload names it.
 */
import { readFileSync } from "node:fs";

/** The state branch: `configured` when given, else the default branch from the event payload, else "main". */
export function resolveStateBranch(configured: string | undefined, eventPath: string | undefined): string {
  if (configured) return configured;
  if (eventPath) {
    try {
      const payload = JSON.parse(readFileSync(eventPath, "utf8")) as {
        repository?: { default_branch?: string };
      };
      if (payload.repository?.default_branch) return payload.repository.default_branch;
    } catch {
      // An unreadable payload falls through to the documented default.
    }
  }
  return "main";
}
