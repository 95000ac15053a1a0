/**
 * Promotion rules for a change of the spec (the base and head of a pull
 * request), judged against what the status says is applied:
 *
 * - the same phase is no change;
 * - one phase forward only when the current phase has passed;
 * - backward is a rollback: allowed, and flagged;
 * - skipping phases is refused, naming the phases skipped;
 * - a new migration starts at its first phase;
 * - a migration is removed only once it is done (or nothing was ever applied);
 * - `override` with a non-empty reason lets a refused change through, and says so.
 */
import type { Migration, PromotionOverride } from "../model/spec.js";
import type { MigrationStatus } from "../model/status.js";

/** What kind of change the pull request makes to one migration. */
export type PromotionKind =
  | "no-change"
  | "forward"
  | "rollback"
  | "skip"
  | "start"
  | "removed"
  | "unknown-phase";

export interface PromotionDecision {
  migration: string;
  kind: PromotionKind;
  /** Phase in the base spec (null when the migration is new there). */
  from: string | null;
  /** Phase in the head spec (null when the migration was removed). */
  to: string | null;
  /** Whether the change may be applied (possibly thanks to an override). */
  allowed: boolean;
  /** Why, in a sentence. */
  reason: string;
  /** Backward moves: applying this spec rolls traffic back. */
  rollback: boolean;
  /** Phases a skip would jump over. */
  skipped?: string[];
  /** Present when the rules refused and the head's override let the change through; the refusal is kept in `refusal`. */
  override?: PromotionOverride & { refusal: string };
}

/** What the rules compare: the migration in the base and head specs (either may be absent) and its status. */
export interface PromotionInput {
  base: Migration | undefined;
  head: Migration | undefined;
  status: MigrationStatus;
}

function quoted(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(", ");
}

function describeStatus(status: MigrationStatus): string {
  return status.phase === null ? "nothing is applied yet" : `"${status.phase}" is ${status.state}`;
}

type Judgement = Omit<PromotionDecision, "migration" | "from" | "to" | "override">;

function judgeNew(head: Migration): Judgement {
  const first = head.phases[0]?.name;
  if (head.phase === first) {
    return {
      kind: "start",
      allowed: true,
      rollback: false,
      reason: `new migration starting at its first phase "${first}"`,
    };
  }
  return {
    kind: "start",
    allowed: false,
    rollback: false,
    reason: `a new migration must start at its first phase "${first}", not "${head.phase}"`,
  };
}

function judgeRemoved(base: Migration, status: MigrationStatus): Judgement {
  if (status.state === "done") {
    return { kind: "removed", allowed: true, rollback: false, reason: "removed after it was done" };
  }
  if (status.phase === null && status.history.length === 0) {
    return { kind: "removed", allowed: true, rollback: false, reason: "removed before anything was applied" };
  }
  return {
    kind: "removed",
    allowed: false,
    rollback: false,
    reason: `"${base.id}" cannot be removed while ${describeStatus(status)}; it must be done (or rolled back and left in the spec)`,
  };
}

function judgeMove(base: Migration, head: Migration, status: MigrationStatus): Judgement {
  const names = head.phases.map((phase) => phase.name);
  const to = names.indexOf(head.phase);
  if (to === -1) {
    return {
      kind: "unknown-phase",
      allowed: false,
      rollback: false,
      reason: `"${head.phase}" is not one of the phases (${quoted(names)})`,
    };
  }
  if (base.phase === head.phase) {
    return { kind: "no-change", allowed: true, rollback: false, reason: `phase stays "${head.phase}"` };
  }
  const from = names.indexOf(base.phase);
  if (from === -1) {
    return {
      kind: "unknown-phase",
      allowed: false,
      rollback: false,
      reason: `the base phase "${base.phase}" is no longer one of the phases (${quoted(names)}); rename phases in a change of their own`,
    };
  }
  if (to < from) {
    return {
      kind: "rollback",
      allowed: true,
      rollback: true,
      reason: `moving back from "${base.phase}" to "${head.phase}" is a rollback: traffic returns to the weights of "${head.phase}"`,
    };
  }
  if (to > from + 1) {
    const skipped = names.slice(from + 1, to);
    return {
      kind: "skip",
      allowed: false,
      rollback: false,
      skipped,
      reason: `"${base.phase}" → "${head.phase}" skips ${quoted(skipped)}; move one phase at a time`,
    };
  }
  if (status.phase === base.phase && status.state === "passed") {
    return {
      kind: "forward",
      allowed: true,
      rollback: false,
      reason: `"${base.phase}" has passed; "${head.phase}" is next`,
    };
  }
  return {
    kind: "forward",
    allowed: false,
    rollback: false,
    reason: `"${head.phase}" needs "${base.phase}" to have passed first, but ${describeStatus(status)}`,
  };
}

/** Applies the promotion rules to one migration. */
export function decidePromotion(input: PromotionInput): PromotionDecision {
  const { base, head, status } = input;
  const migration = head?.id ?? base?.id ?? status.migration;
  let judgement: Judgement;
  if (head && base) judgement = judgeMove(base, head, status);
  else if (head) judgement = judgeNew(head);
  else if (base) judgement = judgeRemoved(base, status);
  else throw new Error(`decidePromotion for "${migration}" needs the migration in the base or the head spec`);
  const decision: PromotionDecision = {
    migration,
    from: base?.phase ?? null,
    to: head?.phase ?? null,
    ...judgement,
  };
  const override = head?.override;
  if (!decision.allowed && decision.kind !== "unknown-phase" && override?.reason?.trim()) {
    // An override vouches for the change it was written for; one left over
    // from an earlier change (unchanged from the base) does not carry over.
    if (base?.override && JSON.stringify(base.override) === JSON.stringify(override)) {
      return {
        ...decision,
        reason: `${decision.reason}; the override in the spec is left over from an earlier change (reason: "${override.reason.trim()}"): remove it, or write a new one for this change`,
      };
    }
    return {
      ...decision,
      allowed: true,
      reason: `override by ${override.requestedBy ?? "the pull request"}: ${override.reason.trim()} (the rules said: ${decision.reason})`,
      override: { ...override, refusal: decision.reason },
    };
  }
  return decision;
}
