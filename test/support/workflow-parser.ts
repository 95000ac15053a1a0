/**
 * Loads GitHub's own workflow parser. Its ESM build imports its JSON schema
 * without an import attribute, which Node 20 refuses; a loader hook adds
 * `type: "json"` to attribute-less JSON imports before the parser is loaded.
 */
import { register } from "node:module";

const JSON_ATTRIBUTE_HOOK = `export async function load(url, context, next) {
  if (url.endsWith(".json") && !context.importAttributes?.type) {
    return next(url, { ...context, importAttributes: { ...context.importAttributes, type: "json" } });
  }
  return next(url, context);
}`;

let registered = false;

/** The `@actions/workflow-parser` module, loaded once. */
export async function loadWorkflowParser(): Promise<typeof import("@actions/workflow-parser")> {
  if (!registered) {
    register(`data:text/javascript,${encodeURIComponent(JSON_ATTRIBUTE_HOOK)}`);
    registered = true;
  }
  return await import("@actions/workflow-parser");
}
