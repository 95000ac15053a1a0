/**
 * An Application Load Balancer as the traffic router: the forward action of a
 * listener's default actions (or of one listener rule) sends each request to
 * one of two target groups by weight. A change is in effect for every new
 * request when ModifyListener / ModifyRule returns; with target group
 * stickiness on, a client keeps its group for the stickiness duration, so
 * that is how long traffic takes to settle.
 *
 * Compare-and-swap: ELBv2 has no conditional write (no version or ETag on a
 * listener or rule). The router reads the actions again just before writing
 * and refuses when they differ from what it decided on, then reads them back
 * after the write. What it cannot guarantee: another writer's change that
 * lands in the few milliseconds between that second read and the write is
 * overwritten; the read-back afterwards reports it as a concurrent change
 * when it lands after.
 */
import {
  type Action,
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type TargetGroupTuple,
  type TargetHealthDescription,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { AlbRouterSpec } from "../model/spec.js";
import type { RouterSnapshot, Weights } from "../model/status.js";
import type { Readiness } from "./compute-target.js";
import { DEFAULT_THROTTLING_RETRY, retryThrottled, type ThrottlingRetryOptions } from "./throttling.js";
import {
  percentRouterWeights,
  type RouterOptions,
  type RouterReading,
  type RouterSide,
  type RouterSideView,
  type RouterWeights,
  type SubmittedChange,
  type TrafficRouter,
  TrafficRouterRefusal,
  weightedEntriesProblems,
  weightedShare,
} from "./traffic-router.js";
import type { RouterDefinition } from "./traffic-routers.js";

/** ELBv2 accepts target group weights 0–999. */
export const ALB_MAX_WEIGHT = 999;

/** What this router keeps in checkpoints: the forward action's target groups and stickiness as they were. */
export interface AlbSnapshot extends RouterSnapshot {
  kind: "alb";
  listenerArn: string;
  ruleArn?: string;
  targetGroups: Array<{ targetGroupArn: string; weight: number }>;
  stickiness: { enabled: boolean; durationSeconds?: number };
}

export interface AlbRouterOptions extends RouterOptions {
  retry?: ThrottlingRetryOptions;
  /** Polling while reading the change back, in seconds. */
  readBackPollSeconds?: number;
}

/** What a reading keeps for the write: the full action list as read and where the forward action sits in it. */
interface AlbNative {
  actions: Action[];
  forwardIndex: number;
}

/** The router for one migration's weighted forward action. */
export class AlbRouter implements TrafficRouter {
  readonly kind = "alb" as const;
  readonly label: string;
  private readonly retry: ThrottlingRetryOptions;
  private readonly pending = new Map<string, RouterWeights>();

  constructor(
    private readonly spec: AlbRouterSpec,
    private readonly client: ElasticLoadBalancingV2Client,
    private readonly options: AlbRouterOptions = {},
  ) {
    this.label = spec.ruleArn
      ? `ALB listener rule ${spec.ruleArn}`
      : `ALB listener ${spec.listenerArn} (default action)`;
    this.retry = options.retry ?? DEFAULT_THROTTLING_RETRY;
  }

  async read(): Promise<RouterReading> {
    const actions = await this.readActions();
    const { forwardIndex, groups, stickiness } = this.forwardOf(actions);
    const old = this.pick(groups, this.spec.oldTargetGroupArn, "old");
    const fresh = this.pick(groups, this.spec.newTargetGroupArn, "new");
    this.refuseForeignGroups(groups);
    const weights = { old: old.Weight ?? 1, new: fresh.Weight ?? 1 };
    if (weights.old + weights.new === 0) {
      throw new TrafficRouterRefusal(
        "unexpected-shape",
        `${this.label}: both target groups have weight 0, so no request reaches either; ` +
          "give one of them a weight (1–999) before cutover moves traffic. Nothing was changed.",
      );
    }
    const [names, readiness] = await Promise.all([this.targetGroupNames(), this.readiness()]);
    const kept = stickiness.enabled ? [`stickiness ${stickiness.durationSeconds ?? 0} s`] : [];
    const view = (side: RouterSide, arn: string, weight: number): RouterSideView => {
      const name = names.get(arn) ?? arn;
      return {
        name,
        title: `target group "${name}"`,
        weight,
        kept,
        detail: `target group "${name}" weight ${weight}${kept.length ? `, ${kept.join(", ")}` : ""} (${side} side)`,
      };
    };
    return {
      sides: {
        old: view("old", this.spec.oldTargetGroupArn, weights.old),
        new: view("new", this.spec.newTargetGroupArn, weights.new),
      },
      snapshot: {
        kind: "alb",
        listenerArn: this.spec.listenerArn,
        ...(this.spec.ruleArn ? { ruleArn: this.spec.ruleArn } : {}),
        targetGroups: groups.map((group) => ({
          targetGroupArn: group.TargetGroupArn ?? "",
          weight: group.Weight ?? 1,
        })),
        stickiness: {
          enabled: stickiness.enabled,
          ...(stickiness.durationSeconds !== undefined
            ? { durationSeconds: stickiness.durationSeconds }
            : {}),
        },
      } satisfies AlbSnapshot,
      settleSeconds: stickiness.enabled ? (stickiness.durationSeconds ?? 0) : 0,
      settleSource: stickiness.enabled
        ? `target group stickiness of ${stickiness.durationSeconds ?? 0} s`
        : "no stickiness: every new request follows the weights at once",
      readiness,
      native: { actions, forwardIndex } satisfies AlbNative,
    };
  }

  weightsFor(percent: number): RouterWeights {
    return percentRouterWeights(percent);
  }

  effectiveWeights(weights: RouterWeights): Weights {
    // Both target groups at 0: the forward sends nothing to either.
    return weightedShare(weights, { old: 0, new: 0 });
  }

  snapshotWeights(snapshot: RouterSnapshot): RouterWeights | undefined {
    if (snapshot.kind !== this.kind || !Array.isArray(snapshot.targetGroups)) return undefined;
    const groups = snapshot.targetGroups as Array<Partial<AlbSnapshot["targetGroups"][number]>>;
    const find = (arn: string) => groups.find((group) => group?.targetGroupArn === arn)?.weight;
    const old = find(this.spec.oldTargetGroupArn);
    const fresh = find(this.spec.newTargetGroupArn);
    if (!Number.isInteger(old) || !Number.isInteger(fresh) || old! + fresh! === 0) return undefined;
    return { old: old!, new: fresh! };
  }

  /** ELBv2 keeps no comment with a change: `_comment` goes to the caller's own records only. */
  async submitWeights(
    reading: RouterReading,
    target: RouterWeights,
    _comment: string,
  ): Promise<SubmittedChange> {
    checkWeights(target);
    const native = reading.native as AlbNative;
    if (!native?.actions) throw new Error("submitWeights needs a reading taken by this router's read()");
    // The compare of the compare-and-swap: ELBv2 cannot make the write conditional.
    const current = await this.readActions();
    if (JSON.stringify(current) !== JSON.stringify(native.actions)) {
      throw new TrafficRouterRefusal(
        "concurrent-change",
        `${this.label}: the actions changed after they were read (another run, the guardian or a person wrote them); ` +
          "nothing was changed. Read them again before deciding.",
      );
    }
    const actions = native.actions.map((action, index) =>
      index === native.forwardIndex ? this.reweighted(action, target) : writable(action),
    );
    const submittedAt = new Date();
    if (this.spec.ruleArn) {
      await this.call("ModifyRule", (abortSignal) =>
        this.client.send(new ModifyRuleCommand({ RuleArn: this.spec.ruleArn, Actions: actions }), {
          abortSignal,
        }),
      );
    } else {
      await this.call("ModifyListener", (abortSignal) =>
        this.client.send(
          new ModifyListenerCommand({ ListenerArn: this.spec.listenerArn, DefaultActions: actions }),
          { abortSignal },
        ),
      );
    }
    // ELBv2 has no change id; this one names the write for logs and the summary (the comment is not stored anywhere).
    const id = `${this.spec.ruleArn ? "rule" : "listener"}-${submittedAt.getTime().toString(36)}`;
    this.pending.set(id, target);
    return { id, submittedAt, status: "APPLIED" };
  }

  async waitApplied(change: SubmittedChange, timeoutSeconds: number): Promise<Date> {
    const target = this.pending.get(change.id);
    const deadline = Date.now() + timeoutSeconds * 1000;
    const poll = (this.options.readBackPollSeconds ?? 0.25) * 1000;
    // A read-back, not a wait: the change is in effect on return. It is what catches a writer that overwrote it since.
    for (;;) {
      const { groups } = this.forwardOf(await this.readActions());
      const weight = (arn: string) => groups.find((group) => group.TargetGroupArn === arn)?.Weight;
      const seen = { old: weight(this.spec.oldTargetGroupArn), new: weight(this.spec.newTargetGroupArn) };
      if (!target || (seen.old === target.old && seen.new === target.new)) {
        this.pending.delete(change.id);
        return new Date();
      }
      if (Date.now() + poll > deadline) {
        throw new TrafficRouterRefusal(
          "concurrent-change",
          `${this.label}: after change ${change.id} the target groups hold weights ${seen.old}/${seen.new}, not ` +
            `${target.old}/${target.new}: another writer changed them after this change was made.`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, poll));
    }
  }

  private async readActions(): Promise<Action[]> {
    if (this.spec.ruleArn) {
      const output = await this.call("DescribeRules", (abortSignal) =>
        this.client.send(new DescribeRulesCommand({ RuleArns: [this.spec.ruleArn!] }), { abortSignal }),
      ).catch((error: unknown) =>
        this.refuseMissing(error, "RuleNotFound", `rule ${this.spec.ruleArn} (router.ruleArn)`),
      );
      const rule = output.Rules?.[0];
      if (!rule) {
        throw new TrafficRouterRefusal(
          "resource-missing",
          `${this.label} does not exist (router.ruleArn). Nothing was changed.`,
        );
      }
      const listenerOfRule = ruleListener(rule.RuleArn ?? this.spec.ruleArn!);
      if (listenerOfRule !== listenerId(this.spec.listenerArn)) {
        throw new TrafficRouterRefusal(
          "unexpected-shape",
          `${this.label} belongs to another listener than router.listenerArn ${this.spec.listenerArn}; ` +
            "give the rule of that listener, or its listener. Nothing was changed.",
        );
      }
      return rule.Actions ?? [];
    }
    const output = await this.call("DescribeListeners", (abortSignal) =>
      this.client.send(new DescribeListenersCommand({ ListenerArns: [this.spec.listenerArn] }), {
        abortSignal,
      }),
    ).catch((error: unknown) =>
      this.refuseMissing(error, "ListenerNotFound", `listener ${this.spec.listenerArn} (router.listenerArn)`),
    );
    const listener = output.Listeners?.[0];
    if (!listener) {
      throw new TrafficRouterRefusal(
        "resource-missing",
        `${this.label} does not exist (router.listenerArn). Nothing was changed.`,
      );
    }
    return listener.DefaultActions ?? [];
  }

  private refuseMissing(error: unknown, code: string, what: string): never {
    const name = (error as { name?: string }).name ?? "";
    if (name === code || name === `${code}Exception`) {
      throw new TrafficRouterRefusal(
        "resource-missing",
        `${what} does not exist (ELBv2 ${code}: ${(error as Error).message}). Nothing was changed.`,
      );
    }
    throw error;
  }

  /** The one forward action and its target groups; refuses actions that do not split traffic between groups. */
  private forwardOf(actions: Action[]): {
    forwardIndex: number;
    groups: TargetGroupTuple[];
    stickiness: { enabled: boolean; durationSeconds?: number };
  } {
    const forwardIndex = actions.findIndex((action) => action.Type === "forward");
    const forward = actions[forwardIndex];
    if (!forward) {
      const types = actions.map((action) => action.Type).join(", ") || "none";
      throw new TrafficRouterRefusal(
        "unexpected-shape",
        `${this.label} has no forward action (its actions: ${types}); cutover splits a forward action between ` +
          "router.oldTargetGroupArn and router.newTargetGroupArn. Nothing was changed.",
      );
    }
    const groups =
      forward.ForwardConfig?.TargetGroups ??
      (forward.TargetGroupArn ? [{ TargetGroupArn: forward.TargetGroupArn, Weight: 1 }] : []);
    if (groups.length < 2) {
      throw new TrafficRouterRefusal(
        "unexpected-shape",
        `${this.label} forwards to one target group only (${groups[0]?.TargetGroupArn ?? "none"}); cutover needs a ` +
          "weighted forward to both router.oldTargetGroupArn and router.newTargetGroupArn (ForwardConfig.TargetGroups " +
          "with both, the new one at weight 0). Nothing was changed.",
      );
    }
    const config = forward.ForwardConfig?.TargetGroupStickinessConfig;
    return {
      forwardIndex,
      groups,
      stickiness: {
        enabled: config?.Enabled ?? false,
        ...(config?.DurationSeconds !== undefined ? { durationSeconds: config.DurationSeconds } : {}),
      },
    };
  }

  private pick(groups: TargetGroupTuple[], arn: string, side: RouterSide): TargetGroupTuple {
    const found = groups.find((group) => group.TargetGroupArn === arn);
    if (!found) {
      throw new TrafficRouterRefusal(
        "resource-missing",
        `${this.label} does not forward to target group ${arn} (router.${side}TargetGroupArn, the ${side} side); ` +
          `it forwards to ${groups.map((group) => group.TargetGroupArn).join(", ")}. Nothing was changed.`,
      );
    }
    return found;
  }

  private refuseForeignGroups(groups: TargetGroupTuple[]): void {
    const ours = new Set([this.spec.oldTargetGroupArn, this.spec.newTargetGroupArn]);
    const foreign = groups.filter(
      (group) => !ours.has(group.TargetGroupArn ?? "") && (group.Weight ?? 1) > 0,
    );
    if (foreign.length > 0) {
      throw new TrafficRouterRefusal(
        "foreign-weighted-record",
        `${this.label} also forwards to ${foreign.map((group) => `${group.TargetGroupArn} (weight ${group.Weight ?? 1})`).join(", ")}; ` +
          "cutover splits traffic between exactly two target groups; set the others' weights to 0 or remove them. Nothing was changed.",
      );
    }
  }

  /** The forward action with only the two weights changed: stickiness and any other group kept as read. */
  private reweighted(action: Action, target: RouterWeights): Action {
    const weightOf = (arn: string | undefined) =>
      arn === this.spec.oldTargetGroupArn
        ? target.old
        : arn === this.spec.newTargetGroupArn
          ? target.new
          : undefined;
    const { TargetGroupArn: _single, ...rest } = action;
    const groups = (action.ForwardConfig?.TargetGroups ?? []).map((group) => ({
      ...group,
      Weight: weightOf(group.TargetGroupArn) ?? group.Weight,
    }));
    return { ...rest, ForwardConfig: { ...action.ForwardConfig, TargetGroups: groups } };
  }

  private async targetGroupNames(): Promise<Map<string, string>> {
    const arns = [this.spec.oldTargetGroupArn, this.spec.newTargetGroupArn];
    try {
      const output = await this.call("DescribeTargetGroups", (abortSignal) =>
        this.client.send(new DescribeTargetGroupsCommand({ TargetGroupArns: arns }), { abortSignal }),
      );
      return new Map(
        (output.TargetGroups ?? []).map((group) => [group.TargetGroupArn ?? "", group.TargetGroupName ?? ""]),
      );
    } catch {
      // Names are for messages; the ARN says the same at length.
      return new Map(arns.map((arn) => [arn, arn.split("/")[1] ?? arn]));
    }
  }

  /** What the load balancer says about each group's targets: a side serves when at least one target is healthy. */
  private async readiness(): Promise<Partial<Record<RouterSide, Readiness>>> {
    const sides: RouterSide[] = ["old", "new"];
    const results = await Promise.all(
      sides.map(async (side): Promise<Readiness> => {
        const arn = side === "old" ? this.spec.oldTargetGroupArn : this.spec.newTargetGroupArn;
        try {
          const output = await this.call("DescribeTargetHealth", (abortSignal) =>
            this.client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }), { abortSignal }),
          );
          return targetHealthReadiness(arn, output.TargetHealthDescriptions ?? []);
        } catch (error) {
          return {
            ready: false,
            summary: `target group ${arn}: could not read target health (${(error as Error).message})`,
            figures: {},
          };
        }
      }),
    );
    return { old: results[0]!, new: results[1]! };
  }

  private call<T>(operation: string, send: (abortSignal?: AbortSignal) => Promise<T>): Promise<T> {
    return retryThrottled(send, this.retry, (attempt, error, delayMs) =>
      this.options.onThrottled?.(operation, attempt, delayMs, error),
    );
  }
}

/**
 * A target counts as serving when healthy, or when its group has health
 * checks off (a Lambda target group's default: ELBv2 reports it
 * "unavailable" with reason Target.HealthCheckDisabled and still routes to it).
 */
export function targetHealthReadiness(arn: string, targets: TargetHealthDescription[]): Readiness {
  const states: Record<string, number> = {};
  let serving = 0;
  for (const target of targets) {
    const state = target.TargetHealth?.State ?? "unknown";
    states[state] = (states[state] ?? 0) + 1;
    if (
      state === "healthy" ||
      (state === "unavailable" && target.TargetHealth?.Reason === "Target.HealthCheckDisabled")
    )
      serving++;
  }
  const described = Object.entries(states)
    .map(([state, count]) => `${count} ${state}`)
    .join(", ");
  const name = arn.split("/")[1] ?? arn;
  return {
    ready: serving > 0,
    summary:
      targets.length === 0
        ? `target group ${name} has no registered targets`
        : `target group ${name}: ${serving} of ${targets.length} targets serving (${described})`,
    figures: { targets: targets.length, serving },
  };
}

/**
 * An action as DescribeRules/DescribeListeners return it, fit to be sent back:
 * the OIDC client secret is never returned, so the write says to keep it.
 */
function writable(action: Action): Action {
  if (action.Type === "authenticate-oidc" && action.AuthenticateOidcConfig) {
    return {
      ...action,
      AuthenticateOidcConfig: { ...action.AuthenticateOidcConfig, UseExistingClientSecret: true },
    };
  }
  return action;
}

function checkWeights(target: RouterWeights): void {
  for (const [side, weight] of Object.entries(target)) {
    if (!Number.isInteger(weight) || weight < 0 || weight > ALB_MAX_WEIGHT) {
      throw new TrafficRouterRefusal(
        "weight-out-of-range",
        `target group weight ${weight} for the ${side} side is not an integer from 0 to ${ALB_MAX_WEIGHT}`,
      );
    }
  }
  if (target.old === 0 && target.new === 0) {
    throw new TrafficRouterRefusal(
      "weight-out-of-range",
      "target group weights 0 and 0 would send no request to either side; one side must keep a weight",
    );
  }
}

/** "app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2" of a listener ARN. */
function listenerId(arn: string): string {
  return arn.split(":listener/")[1] ?? arn;
}

/** The listener part of a rule ARN (listener-rule/app/<lb>/<id>/<listener>/<rule>). */
function ruleListener(arn: string): string {
  const path = arn.split(":listener-rule/")[1] ?? "";
  return path.split("/").slice(0, 4).join("/");
}

function snapshotProblems(snapshot: RouterSnapshot, at: string): string[] {
  return [
    ...(typeof snapshot.listenerArn !== "string" ? [`${at}.listenerArn must be the listener's ARN`] : []),
    ...weightedEntriesProblems(snapshot.targetGroups, `${at}.targetGroups`, {
      what: "the list of target groups",
      idField: "targetGroupArn",
      max: ALB_MAX_WEIGHT,
    }),
  ];
}

/** The registry's entry for `kind: "alb"`. */
export const albRouter: RouterDefinition<AlbRouterSpec> = {
  create(spec, clients, options) {
    if (!clients.elbv2) throw new Error("the alb router needs an Elastic Load Balancing v2 client");
    return new AlbRouter(spec, clients.elbv2, options);
  },
  requiredFields: ["listenerArn", "oldTargetGroupArn", "newTargetGroupArn"],
  snapshotProblems,
};
