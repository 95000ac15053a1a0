/**
 * Secret references of notification sinks: the spec names a secret (handed
 * to the action in its `notification-secrets` input) or an environment
 * variable, never the value. Resolution happens at run time; what is missing
 * or unfit is reported per sink, so the action warns and the migration goes on.
 */
import type { NotificationSinkSpec, SecretReference } from "../model/spec.js";
import type { ResolvedSinkSecrets } from "./transport.js";

/** Where references are looked up. */
export interface SecretLookup {
  /** Secrets by name, from the notification-secrets input. */
  secrets: Readonly<Record<string, string>>;
  /** Environment variables. */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Parses the notification-secrets input: a JSON object of names to values
 * (`${{ toJSON(secrets) }}` gives one), or `NAME=value` lines. Values are
 * never echoed in the problems.
 */
export function parseNotificationSecrets(text: string): {
  values: Record<string, string>;
  problems: string[];
} {
  const trimmed = text.trim();
  if (trimmed === "") return { values: {}, problems: [] };
  if (trimmed.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return {
        values: {},
        problems: ["is not valid JSON; give a JSON object of names to values, or NAME=value lines"],
      };
    }
    const values: Record<string, string> = {};
    const problems: string[] = [];
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof value === "string") values[name] = value;
      else problems.push(`"${name}" is not a string`);
    }
    return { values, problems };
  }
  const values: Record<string, string> = {};
  const problems: string[] = [];
  for (const [index, line] of trimmed.split(/\r?\n/).entries()) {
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) values[match[1]!] = match[2]!;
    else problems.push(`line ${index + 1} is not NAME=value`);
  }
  return { values, problems };
}

/** Names a reference in messages: `secret SLACK_WEBHOOK_URL` or `environment variable HOOK_URL`. */
export function describeReference(reference: SecretReference): string {
  return reference.secret !== undefined
    ? `secret ${reference.secret}`
    : `environment variable ${reference.env}`;
}

/** The value a reference names, or undefined when it is not set (or empty). */
export function resolveReference(reference: SecretReference, lookup: SecretLookup): string | undefined {
  const value =
    reference.secret !== undefined
      ? lookup.secrets[reference.secret]
      : reference.env !== undefined
        ? lookup.env[reference.env]
        : undefined;
  return value === undefined || value === "" ? undefined : value;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Why a sink URL is unfit, or undefined when it is an HTTPS URL (plain HTTP only to a loopback receiver). */
export function urlProblem(value: string, what: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${what} is not a URL`;
  }
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return `${what} is a ${url.protocol.replace(":", "")} URL; give an https:// URL (plain http only reaches a receiver on this machine)`;
}

export type SinkResolution =
  | { ok: true; secrets: ResolvedSinkSecrets; values: string[] }
  | { ok: false; problem: string; values: string[] };

/** Resolves a sink's references; `values` are the secret values found, to mask before anything logs. */
export function resolveSink(sink: NotificationSinkSpec, lookup: SecretLookup): SinkResolution {
  const values: string[] = [];
  const take = (reference: SecretReference, what: string): { value?: string; problem?: string } => {
    const value = resolveReference(reference, lookup);
    if (value === undefined) return { problem: `${what} (${describeReference(reference)}) is not set` };
    values.push(value);
    return { value };
  };
  switch (sink.kind) {
    case "sns":
      return { ok: true, secrets: {}, values };
    case "slack": {
      const url = take(sink.webhookUrl, "the webhook URL");
      if (url.value === undefined) return { ok: false, problem: url.problem!, values };
      const problem = urlProblem(url.value, `the webhook URL (${describeReference(sink.webhookUrl)})`);
      return problem ? { ok: false, problem, values } : { ok: true, secrets: { url: url.value }, values };
    }
    case "webhook": {
      const url = take(sink.url, "the URL");
      const key = take(sink.signingSecret, "the signing secret");
      const problems = [url.problem, key.problem].filter(
        (problem): problem is string => problem !== undefined,
      );
      if (url.value !== undefined) {
        const problem = urlProblem(url.value, `the URL (${describeReference(sink.url)})`);
        if (problem) problems.push(problem);
      }
      if (problems.length > 0) return { ok: false, problem: problems.join("; "), values };
      return { ok: true, secrets: { url: url.value!, signingSecret: key.value! }, values };
    }
  }
}
