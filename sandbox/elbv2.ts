/**
 * Elastic Load Balancing v2 (Application Load Balancers) on its real wire
 * protocol: AWS Query, API version 2015-12-01. A form-encoded POST signed for
 * "elasticloadbalancing" (`Action=ModifyListener&Version=2015-12-01&
 * DefaultActions.member.1.Type=forward&...`), answered in XML
 * (`<ModifyListenerResponse><ModifyListenerResult>...`), errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error>`.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/Welcome.html
 *
 * The operations cutover needs to move traffic between two weighted target
 * groups: DescribeLoadBalancers, DescribeListeners, DescribeRules,
 * DescribeTargetGroups, DescribeTargetHealth, ModifyListener and ModifyRule,
 * with what AWS refuses: weights outside 0–999, more than 5 target groups in
 * a forward action, a target group named twice, stickiness durations outside
 * 1–604800 s, unknown listeners, rules and target groups, a terminal action
 * that is not last, and the default rule's actions changed through ModifyRule
 * (AWS: "To modify the actions for the default rule, use ModifyListener").
 *
 * Target health follows the world: an `ip` target group bound to an ECS
 * service has one healthy target per running task; a `lambda` target group
 * has its function as the one target, "unavailable" with reason
 * Target.HealthCheckDisabled when health checks are off (Lambda's default).
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { escapeXml, requestIdOf, ServiceError, sendServiceError, signingServiceOf } from "./protocol.js";
import type { EcsView, LambdaView, ServiceHandler } from "./types.js";

export const ELBV2_API_VERSION = "2015-12-01";
const NAMESPACE_URI = `http://elasticloadbalancing.amazonaws.com/doc/${ELBV2_API_VERSION}/`;

/** AWS limits, from the ELBv2 API reference and quotas page. */
export const ELBV2_LIMITS = {
  maxWeight: 999,
  maxTargetGroupsPerForward: 5,
  minStickinessSeconds: 1,
  maxStickinessSeconds: 604_800,
  maxOrder: 50_000,
  maxPageSize: 400,
} as const;

const ACTION_TYPES = ["forward", "authenticate-oidc", "authenticate-cognito", "redirect", "fixed-response"];
const TERMINAL_TYPES = new Set(["forward", "redirect", "fixed-response"]);

/** A seeded action: a weighted forward, or a fixed response. */
export type ElbV2SeedAction =
  | {
      type: "forward";
      targetGroups: Array<{ name: string; weight?: number }>;
      /** Target group stickiness duration in seconds; absent: off. */
      stickinessSeconds?: number;
    }
  | { type: "fixed-response"; statusCode: string; messageBody?: string };

/** The load balancers and target groups a sandbox starts with. */
export interface ElbV2Seed {
  loadBalancers: Array<{
    name: string;
    listeners: Array<{
      port: number;
      protocol?: "HTTP" | "HTTPS";
      defaultActions: ElbV2SeedAction[];
      rules?: Array<{ priority: number; pathPatterns: string[]; actions: ElbV2SeedAction[] }>;
    }>;
  }>;
  targetGroups: Array<{
    name: string;
    targetType: "ip" | "lambda";
    /** `ip`: the ECS service whose running tasks are the targets. */
    ecs?: { cluster: string; service: string };
    /** `lambda`: the function registered as the target. */
    lambda?: { functionName: string };
    /** Lambda target groups have health checks off unless this says otherwise. */
    healthCheckEnabled?: boolean;
  }>;
}

type Json = Record<string, unknown>;

/** An action in the API's own shape, as stored and answered. */
export interface ElbV2Action {
  Type: string;
  Order?: number;
  TargetGroupArn?: string;
  ForwardConfig?: {
    TargetGroups: Array<{ TargetGroupArn: string; Weight: number }>;
    TargetGroupStickinessConfig?: { Enabled: boolean; DurationSeconds?: number };
  };
  [config: string]: unknown;
}

interface LoadBalancerState {
  arn: string;
  name: string;
  dnsName: string;
  createdTime: number;
}

interface ListenerState {
  arn: string;
  loadBalancerArn: string;
  port: number;
  protocol: string;
  defaultActions: ElbV2Action[];
}

interface RuleState {
  arn: string;
  listenerArn: string;
  priority: number;
  conditions: Json[];
  actions: ElbV2Action[];
}

interface TargetGroupState {
  arn: string;
  name: string;
  targetType: "ip" | "lambda";
  healthCheckEnabled: boolean;
  ecs?: { cluster: string; service: string };
  lambda?: { functionName: string };
}

export interface ElbV2Options {
  region: string;
  accountId: string;
  ecs?: EcsView;
  lambda?: LambdaView;
  now?: () => number;
}

/** The problems of an ELBv2 seed, each with its JSON path. */
export function elbv2SeedProblems(value: unknown, path: string): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const seed = value as Partial<ElbV2Seed> | undefined;
  if (typeof seed !== "object" || seed === null) return [{ path, message: "must be an object" }];
  const groups = Array.isArray(seed.targetGroups) ? seed.targetGroups : [];
  if (!Array.isArray(seed.targetGroups))
    problems.push({ path: `${path}.targetGroups`, message: "must be a list" });
  const names = new Set<string>();
  groups.forEach((group, index) => {
    const at = `${path}.targetGroups[${index}]`;
    if (
      typeof group?.name !== "string" ||
      !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(group.name)
    )
      problems.push({ path: `${at}.name`, message: "must be 1–32 letters, digits and inner hyphens" });
    else if (names.has(group.name))
      problems.push({ path: `${at}.name`, message: `"${group.name}" is declared twice` });
    else names.add(group.name);
    if (group?.targetType !== "ip" && group?.targetType !== "lambda")
      problems.push({ path: `${at}.targetType`, message: 'must be "ip" or "lambda"' });
    if (group?.targetType === "lambda" && typeof group.lambda?.functionName !== "string")
      problems.push({
        path: `${at}.lambda.functionName`,
        message: "a lambda target group names its function",
      });
  });
  const checkActions = (actions: unknown, at: string) => {
    if (!Array.isArray(actions) || actions.length === 0) {
      problems.push({ path: at, message: "must be a non-empty list of actions" });
      return;
    }
    actions.forEach((action: ElbV2SeedAction, index) => {
      const where = `${at}[${index}]`;
      if (action?.type === "forward") {
        if (!Array.isArray(action.targetGroups) || action.targetGroups.length === 0) {
          problems.push({ path: `${where}.targetGroups`, message: "must name at least one target group" });
          return;
        }
        action.targetGroups.forEach((group, groupIndex) => {
          if (!names.has(group?.name))
            problems.push({
              path: `${where}.targetGroups[${groupIndex}].name`,
              message: `"${group?.name}" is not a target group declared under targetGroups`,
            });
        });
      } else if (action?.type !== "fixed-response") {
        problems.push({ path: `${where}.type`, message: 'must be "forward" or "fixed-response"' });
      }
    });
  };
  if (!Array.isArray(seed.loadBalancers)) {
    problems.push({ path: `${path}.loadBalancers`, message: "must be a list" });
    return problems;
  }
  seed.loadBalancers.forEach((balancer, index) => {
    const at = `${path}.loadBalancers[${index}]`;
    if (typeof balancer?.name !== "string" || balancer.name === "")
      problems.push({ path: `${at}.name`, message: "must be a load balancer name" });
    (balancer?.listeners ?? []).forEach((listener, listenerIndex) => {
      const where = `${at}.listeners[${listenerIndex}]`;
      if (!Number.isInteger(listener?.port) || listener.port < 1 || listener.port > 65535)
        problems.push({ path: `${where}.port`, message: "must be a port 1–65535" });
      checkActions(listener?.defaultActions, `${where}.defaultActions`);
      for (const [ruleIndex, rule] of (listener?.rules ?? []).entries()) {
        checkActions(rule?.actions, `${where}.rules[${ruleIndex}].actions`);
      }
    });
  });
  return problems;
}

/** A stable 16-hex-digit id, as ELBv2 puts in its ARNs. */
function idOf(...parts: Array<string | number>): string {
  return createHash("sha256").update(parts.join("/")).digest("hex").slice(0, 16);
}

function error(code: string, message: string, status = 400): ServiceError {
  return new ServiceError(code, message, status);
}

/** The Smithy-style message AWS answers for a member outside its constraint. */
function validation(path: string, value: unknown, constraint: string): ServiceError {
  return error(
    "ValidationError",
    `1 validation error detected: Value '${String(value)}' at '${path}' failed to satisfy constraint: ${constraint}`,
  );
}

/** The sandbox's ELBv2. */
export class ElbV2Service implements ServiceHandler {
  readonly name = "elbv2";
  private readonly loadBalancers = new Map<string, LoadBalancerState>();
  private readonly listeners = new Map<string, ListenerState>();
  private readonly rules = new Map<string, RuleState>();
  private readonly targetGroups = new Map<string, TargetGroupState>();
  private readonly now: () => number;
  private readonly arnPrefix: string;

  constructor(
    seed: ElbV2Seed | undefined,
    private readonly options: ElbV2Options,
  ) {
    this.now = options.now ?? Date.now;
    this.arnPrefix = `arn:aws:elasticloadbalancing:${options.region}:${options.accountId}`;
    if (!seed) return;
    const problems = elbv2SeedProblems(seed, "$.elbv2");
    if (problems.length > 0)
      throw new Error(
        `elbv2 seed: ${problems.map((problem) => `${problem.path}: ${problem.message}`).join("; ")}`,
      );
    const groupArns = new Map<string, string>();
    for (const group of seed.targetGroups) {
      const arn = `${this.arnPrefix}:targetgroup/${group.name}/${idOf("tg", group.name)}`;
      groupArns.set(group.name, arn);
      this.targetGroups.set(arn, {
        arn,
        name: group.name,
        targetType: group.targetType,
        healthCheckEnabled: group.healthCheckEnabled ?? group.targetType !== "lambda",
        ...(group.ecs ? { ecs: group.ecs } : {}),
        ...(group.lambda ? { lambda: group.lambda } : {}),
      });
    }
    const seedAction = (action: ElbV2SeedAction, index: number): ElbV2Action =>
      action.type === "forward"
        ? normaliseForward({
            Type: "forward",
            Order: index + 1,
            ForwardConfig: {
              TargetGroups: action.targetGroups.map((group) => ({
                TargetGroupArn: groupArns.get(group.name)!,
                Weight: group.weight ?? 1,
              })),
              TargetGroupStickinessConfig: action.stickinessSeconds
                ? { Enabled: true, DurationSeconds: action.stickinessSeconds }
                : { Enabled: false },
            },
          })
        : {
            Type: "fixed-response",
            Order: index + 1,
            FixedResponseConfig: {
              StatusCode: action.statusCode,
              ContentType: "text/plain",
              ...(action.messageBody ? { MessageBody: action.messageBody } : {}),
            },
          };
    for (const balancer of seed.loadBalancers) {
      const lbId = idOf("lb", balancer.name);
      const arn = `${this.arnPrefix}:loadbalancer/app/${balancer.name}/${lbId}`;
      this.loadBalancers.set(arn, {
        arn,
        name: balancer.name,
        dnsName: `${balancer.name}-${lbId.slice(0, 10)}.${options.region}.elb.amazonaws.com`,
        createdTime: this.now(),
      });
      for (const listener of balancer.listeners) {
        const listenerId = idOf("listener", balancer.name, listener.port);
        const listenerArn = `${this.arnPrefix}:listener/app/${balancer.name}/${lbId}/${listenerId}`;
        this.listeners.set(listenerArn, {
          arn: listenerArn,
          loadBalancerArn: arn,
          port: listener.port,
          protocol: listener.protocol ?? "HTTP",
          defaultActions: listener.defaultActions.map(seedAction),
        });
        for (const rule of listener.rules ?? []) {
          const ruleArn = `${this.arnPrefix}:listener-rule/app/${balancer.name}/${lbId}/${listenerId}/${idOf("rule", listenerArn, rule.priority)}`;
          this.rules.set(ruleArn, {
            arn: ruleArn,
            listenerArn,
            priority: rule.priority,
            conditions: [
              {
                Field: "path-pattern",
                Values: rule.pathPatterns,
                PathPatternConfig: { Values: rule.pathPatterns },
              },
            ],
            actions: rule.actions.map(seedAction),
          });
        }
      }
    }
  }

  matches(req: IncomingMessage): boolean {
    return (
      req.method === "POST" &&
      signingServiceOf(req) === "elasticloadbalancing" &&
      (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")
    );
  }

  operationOf(_req: IncomingMessage, body?: Buffer): string | undefined {
    if (!body) return undefined;
    const action = new URLSearchParams(body.toString("utf8")).get("Action") ?? undefined;
    return action && Object.hasOwn(this.operations, action) ? action : undefined;
  }

  async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    try {
      const { action, version, input } = decodeQuery(body.toString("utf8"));
      if (version !== ELBV2_API_VERSION) {
        throw error(
          "InvalidAction",
          `The action ${action ?? "(none)"} is not valid for version ${version ?? "(none)"} of this web service; Elastic Load Balancing v2 is version ${ELBV2_API_VERSION}.`,
        );
      }
      const operation =
        action && Object.hasOwn(this.operations, action) ? this.operations[action] : undefined;
      if (!action || !operation) {
        throw error("InvalidAction", `The action ${action ?? "(none)"} is not valid for this web service.`);
      }
      const output = operation(input);
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NAMESPACE_URI}">` +
        `<${action}Result>${Object.entries(output)
          .map(([name, value]) => element(name, value))
          .join("")}</${action}Result>` +
        `<ResponseMetadata><RequestId>${escapeXml(requestIdOf(req))}</RequestId></ResponseMetadata></${action}Response>`;
      res.writeHead(200, {
        "content-type": "text/xml",
        "content-length": Buffer.byteLength(xml),
        "x-amzn-requestid": requestIdOf(req),
      });
      res.end(xml);
    } catch (thrown) {
      if (!(thrown instanceof ServiceError)) throw thrown;
      sendServiceError(req, res, "query-xml", thrown);
    }
  }

  /** Operations by Action name: JSON-shaped input in, JSON-shaped output out. */
  private readonly operations: Record<string, (input: Json) => Json> = {
    DescribeLoadBalancers: (input) => this.describeLoadBalancers(input),
    DescribeListeners: (input) => this.describeListeners(input),
    DescribeRules: (input) => this.describeRules(input),
    DescribeTargetGroups: (input) => this.describeTargetGroups(input),
    DescribeTargetHealth: (input) => this.describeTargetHealth(input),
    ModifyListener: (input) => this.modifyListener(input),
    ModifyRule: (input) => this.modifyRule(input),
  };

  // ------------------------------------------------------------ reading

  private describeLoadBalancers(input: Json): Json {
    const arns = stringList(input.LoadBalancerArns);
    const names = stringList(input.Names);
    if (arns.length > 0 && names.length > 0)
      throw error(
        "ValidationError",
        "Load balancer names and load balancer ARNs cannot be specified at the same time",
      );
    let found = [...this.loadBalancers.values()];
    if (arns.length > 0) found = arns.map((arn) => this.loadBalancer(arn));
    if (names.length > 0) {
      found = names.map((name) => {
        const match = [...this.loadBalancers.values()].find((balancer) => balancer.name === name);
        if (!match) throw error("LoadBalancerNotFound", `Load balancers '[${name}]' not found`);
        return match;
      });
    }
    return page(
      input,
      "LoadBalancers",
      found.map((balancer) => this.loadBalancerShape(balancer)),
    );
  }

  private describeListeners(input: Json): Json {
    const arns = stringList(input.ListenerArns);
    const balancer = optionalString(input.LoadBalancerArn);
    if (arns.length > 0 && balancer)
      throw error(
        "ValidationError",
        "Listener ARNs and a load balancer ARN cannot be specified at the same time",
      );
    if (arns.length === 0 && !balancer)
      throw error("ValidationError", "You must specify either listener ARNs or a load balancer ARN");
    if (balancer) this.loadBalancer(balancer);
    const found = balancer
      ? [...this.listeners.values()].filter((listener) => listener.loadBalancerArn === balancer)
      : arns.map((arn) => this.listener(arn));
    return page(
      input,
      "Listeners",
      found.map((listener) => this.listenerShape(listener)),
    );
  }

  private describeRules(input: Json): Json {
    const arns = stringList(input.RuleArns);
    const listenerArn = optionalString(input.ListenerArn);
    if (arns.length > 0 && listenerArn)
      throw error("ValidationError", "Rule ARNs and a listener ARN cannot be specified at the same time");
    if (arns.length === 0 && !listenerArn)
      throw error("ValidationError", "You must specify either listener ARN or rule ARNs");
    let rules: Json[];
    if (listenerArn) {
      const listener = this.listener(listenerArn);
      rules = [
        ...[...this.rules.values()]
          .filter((rule) => rule.listenerArn === listenerArn)
          .sort((a, b) => a.priority - b.priority)
          .map((rule) => this.ruleShape(rule)),
        this.defaultRuleShape(listener),
      ];
    } else {
      rules = arns.map((arn) => {
        const rule = this.rules.get(arn);
        if (rule) return this.ruleShape(rule);
        const listener = this.listenerOfDefaultRule(arn);
        if (listener) return this.defaultRuleShape(listener);
        throw error("RuleNotFound", `One or more rules not found`);
      });
    }
    return page(input, "Rules", rules);
  }

  private describeTargetGroups(input: Json): Json {
    const arns = stringList(input.TargetGroupArns);
    const names = stringList(input.Names);
    const balancer = optionalString(input.LoadBalancerArn);
    let found = [...this.targetGroups.values()];
    if (arns.length > 0) found = arns.map((arn) => this.targetGroup(arn));
    if (names.length > 0) {
      found = names.map((name) => {
        const match = [...this.targetGroups.values()].find((group) => group.name === name);
        if (!match) throw error("TargetGroupNotFound", `Target groups '[${name}]' not found`);
        return match;
      });
    }
    if (balancer) {
      this.loadBalancer(balancer);
      found = found.filter((group) => this.loadBalancersOf(group.arn).includes(balancer));
    }
    return page(
      input,
      "TargetGroups",
      found.map((group) => this.targetGroupShape(group)),
    );
  }

  private describeTargetHealth(input: Json): Json {
    const arn = optionalString(input.TargetGroupArn);
    if (!arn) throw validation("targetGroupArn", "null", "Member must not be null");
    const group = this.targetGroup(arn);
    return { TargetHealthDescriptions: this.targetHealth(group) };
  }

  // ------------------------------------------------------------ writing

  private modifyListener(input: Json): Json {
    const arn = optionalString(input.ListenerArn);
    if (!arn) throw validation("listenerArn", "null", "Member must not be null");
    const listener = this.listener(arn);
    if (input.DefaultActions !== undefined) {
      listener.defaultActions = this.checkedActions(input.DefaultActions, "defaultActions");
    }
    if (input.Port !== undefined) {
      const port = Number(input.Port);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw validation("port", input.Port, "Member must have value between 1 and 65535");
      listener.port = port;
    }
    return { Listeners: [this.listenerShape(listener)] };
  }

  private modifyRule(input: Json): Json {
    const arn = optionalString(input.RuleArn);
    if (!arn) throw validation("ruleArn", "null", "Member must not be null");
    const rule = this.rules.get(arn);
    if (!rule) {
      if (this.listenerOfDefaultRule(arn)) {
        throw error(
          "OperationNotPermitted",
          `The default rule '${arn}' cannot be modified with ModifyRule; to modify the actions for the default rule, use ModifyListener`,
        );
      }
      throw error("RuleNotFound", "One or more rules not found");
    }
    if (input.Actions !== undefined) rule.actions = this.checkedActions(input.Actions, "actions");
    if (input.Conditions !== undefined) {
      const conditions = Array.isArray(input.Conditions) ? (input.Conditions as Json[]) : [];
      if (conditions.length === 0) throw error("ValidationError", "A rule must have at least one condition");
      rule.conditions = conditions;
    }
    return { Rules: [this.ruleShape(rule)] };
  }

  /** Validates an action list as ELBv2 does; the list as stored (weights and orders as numbers). */
  private checkedActions(value: unknown, member: string): ElbV2Action[] {
    const actions = Array.isArray(value) ? (value as Json[]) : [];
    if (actions.length === 0)
      throw error("ValidationError", `At least one action must be specified in '${member}'`);
    const checked = actions.map((raw, index) => this.checkedAction(raw, `${member}.${index + 1}.member`));
    const orders = checked.map((action, index) => action.Order ?? index + 1);
    if (new Set(orders).size !== orders.length)
      throw error("ValidationError", "Action orders must be unique within a rule");
    const byOrder = checked
      .map((action, index) => ({ action, order: orders[index]! }))
      .sort((a, b) => a.order - b.order);
    const terminal = byOrder.filter(({ action }) => TERMINAL_TYPES.has(action.Type));
    if (terminal.length !== 1 || !TERMINAL_TYPES.has(byOrder.at(-1)!.action.Type)) {
      throw error(
        "InvalidLoadBalancerAction",
        "A rule must have exactly one forward, redirect or fixed-response action, and it must be the last action",
      );
    }
    return checked;
  }

  private checkedAction(raw: Json, path: string): ElbV2Action {
    const type = optionalString(raw.Type);
    if (!type || !ACTION_TYPES.includes(type)) {
      throw validation(
        `${path}.type`,
        type ?? "null",
        `Member must satisfy enum value set: [${ACTION_TYPES.join(", ")}]`,
      );
    }
    const action: ElbV2Action = { ...raw, Type: type };
    if (raw.Order !== undefined) {
      const order = Number(raw.Order);
      if (!Number.isInteger(order) || order < 1 || order > ELBV2_LIMITS.maxOrder)
        throw validation(
          `${path}.order`,
          raw.Order,
          `Member must have value between 1 and ${ELBV2_LIMITS.maxOrder}`,
        );
      action.Order = order;
    }
    if (type !== "forward") {
      delete action.ForwardConfig;
      return action;
    }
    const config = (raw.ForwardConfig ?? {}) as Json;
    const tuples = Array.isArray(config.TargetGroups) ? (config.TargetGroups as Json[]) : [];
    const single = optionalString(raw.TargetGroupArn);
    if (!single && tuples.length === 0)
      throw error(
        "ValidationError",
        "A target group ARN or a forward config with target groups must be specified for a forward action",
      );
    if (tuples.length > ELBV2_LIMITS.maxTargetGroupsPerForward) {
      throw error(
        "ValidationError",
        `A forward action can have at most ${ELBV2_LIMITS.maxTargetGroupsPerForward} target groups; ${tuples.length} were specified`,
      );
    }
    const groups = tuples.map((tuple, index) => {
      const where = `${path}.forwardConfig.targetGroups.${index + 1}.member`;
      const arn = optionalString(tuple.TargetGroupArn);
      if (!arn) throw validation(`${where}.targetGroupArn`, "null", "Member must not be null");
      const weight = tuple.Weight === undefined ? 1 : Number(tuple.Weight);
      if (!Number.isInteger(weight) || weight < 0 || weight > ELBV2_LIMITS.maxWeight)
        throw validation(
          `${where}.weight`,
          tuple.Weight,
          `Member must have value between 0 and ${ELBV2_LIMITS.maxWeight}`,
        );
      return { TargetGroupArn: arn, Weight: weight };
    });
    const arns = groups.map((group) => group.TargetGroupArn);
    const twice = arns.find((arn, index) => arns.indexOf(arn) !== index);
    if (twice)
      throw error(
        "ValidationError",
        `Target group '${twice}' is specified more than once in the forward action`,
      );
    if (single && groups.length > 0 && (groups.length > 1 || groups[0]!.TargetGroupArn !== single)) {
      throw error(
        "ValidationError",
        "You cannot specify a target group ARN for the action and a forward config with other or more target groups",
      );
    }
    const missing = [...(single ? [single] : []), ...arns].filter((arn) => !this.targetGroups.has(arn));
    if (missing.length > 0)
      throw error("TargetGroupNotFound", `Target groups '[${missing.join(", ")}]' not found`);
    const stickinessRaw = config.TargetGroupStickinessConfig as Json | undefined;
    let stickiness: { Enabled: boolean; DurationSeconds?: number } = { Enabled: false };
    if (stickinessRaw) {
      const enabled = stickinessRaw.Enabled === true || stickinessRaw.Enabled === "true";
      const duration =
        stickinessRaw.DurationSeconds === undefined ? undefined : Number(stickinessRaw.DurationSeconds);
      if (enabled) {
        if (
          duration === undefined ||
          !Number.isInteger(duration) ||
          duration < ELBV2_LIMITS.minStickinessSeconds ||
          duration > ELBV2_LIMITS.maxStickinessSeconds
        ) {
          throw error(
            "ValidationError",
            `Target group stickiness duration must be between ${ELBV2_LIMITS.minStickinessSeconds} and ${ELBV2_LIMITS.maxStickinessSeconds} seconds`,
          );
        }
        stickiness = { Enabled: true, DurationSeconds: duration };
      }
    }
    const { TargetGroupArn: _single, ...rest } = action;
    return normaliseForward({
      ...rest,
      Type: "forward",
      ForwardConfig: {
        TargetGroups: groups.length > 0 ? groups : [{ TargetGroupArn: single!, Weight: 1 }],
        TargetGroupStickinessConfig: stickiness,
      },
    });
  }

  // ------------------------------------------------------------ lookups and shapes

  private loadBalancer(arn: string): LoadBalancerState {
    const found = this.loadBalancers.get(arn);
    if (!found) throw error("LoadBalancerNotFound", `Load balancer '${arn}' not found`);
    return found;
  }

  private listener(arn: string): ListenerState {
    const found = this.listeners.get(arn);
    if (!found) throw error("ListenerNotFound", `One or more listeners not found`);
    return found;
  }

  private targetGroup(arn: string): TargetGroupState {
    const found = this.targetGroups.get(arn);
    if (!found) throw error("TargetGroupNotFound", `Target groups '[${arn}]' not found`);
    return found;
  }

  /** The default rule's ARN: the listener's path with a rule id of its own. */
  private defaultRuleArn(listener: ListenerState): string {
    const path = listener.arn.split(":listener/")[1]!;
    return `${this.arnPrefix}:listener-rule/${path}/${idOf("default-rule", listener.arn)}`;
  }

  private listenerOfDefaultRule(arn: string): ListenerState | undefined {
    return [...this.listeners.values()].find((listener) => this.defaultRuleArn(listener) === arn);
  }

  private loadBalancersOf(groupArn: string): string[] {
    const uses = (actions: ElbV2Action[]) =>
      actions.some((action) =>
        action.ForwardConfig?.TargetGroups.some((group) => group.TargetGroupArn === groupArn),
      );
    const listeners = [...this.listeners.values()].filter(
      (listener) =>
        uses(listener.defaultActions) ||
        [...this.rules.values()].some((rule) => rule.listenerArn === listener.arn && uses(rule.actions)),
    );
    return [...new Set(listeners.map((listener) => listener.loadBalancerArn))];
  }

  private loadBalancerShape(balancer: LoadBalancerState): Json {
    return {
      LoadBalancerArn: balancer.arn,
      DNSName: balancer.dnsName,
      CanonicalHostedZoneId: "Z35SXDOTRQ7X7K",
      CreatedTime: new Date(balancer.createdTime).toISOString(),
      LoadBalancerName: balancer.name,
      Scheme: "internet-facing",
      VpcId: "vpc-0sandbox",
      State: { Code: "active" },
      Type: "application",
      IpAddressType: "ipv4",
    };
  }

  private listenerShape(listener: ListenerState): Json {
    return {
      ListenerArn: listener.arn,
      LoadBalancerArn: listener.loadBalancerArn,
      Port: listener.port,
      Protocol: listener.protocol,
      DefaultActions: listener.defaultActions,
    };
  }

  private ruleShape(rule: RuleState): Json {
    return {
      RuleArn: rule.arn,
      Priority: String(rule.priority),
      Conditions: rule.conditions,
      Actions: rule.actions,
      IsDefault: false,
    };
  }

  private defaultRuleShape(listener: ListenerState): Json {
    return {
      RuleArn: this.defaultRuleArn(listener),
      Priority: "default",
      Conditions: [],
      Actions: listener.defaultActions,
      IsDefault: true,
    };
  }

  private targetGroupShape(group: TargetGroupState): Json {
    return {
      TargetGroupArn: group.arn,
      TargetGroupName: group.name,
      ...(group.targetType === "ip" ? { Protocol: "HTTP", Port: 8080, VpcId: "vpc-0sandbox" } : {}),
      HealthCheckEnabled: group.healthCheckEnabled,
      TargetType: group.targetType,
      LoadBalancerArns: this.loadBalancersOf(group.arn),
    };
  }

  /** Targets and their health, from the ECS service's running tasks or the Lambda function. */
  private targetHealth(group: TargetGroupState): Json[] {
    if (group.targetType === "lambda" && group.lambda) {
      const state = this.options.lambda?.functionState(group.lambda.functionName);
      if (state === undefined) return [];
      const target = {
        Target: {
          Id: `arn:aws:lambda:${this.options.region}:${this.options.accountId}:function:${group.lambda.functionName}`,
        },
      };
      if (!group.healthCheckEnabled) {
        return [
          {
            ...target,
            TargetHealth: {
              State: "unavailable",
              Reason: "Target.HealthCheckDisabled",
              Description: "Health checks are disabled",
            },
          },
        ];
      }
      return [
        {
          ...target,
          TargetHealth:
            state === "Active"
              ? { State: "healthy" }
              : {
                  State: "unhealthy",
                  Reason: "Target.FailedHealthChecks",
                  Description: "Health checks failed",
                },
        },
      ];
    }
    if (group.ecs) {
      const service = this.options.ecs?.service(group.ecs.cluster, group.ecs.service);
      const running = service?.status === "ACTIVE" ? service.runningCount : 0;
      return Array.from({ length: running }, (_, index) => ({
        Target: { Id: `10.0.${Math.floor(index / 250)}.${(index % 250) + 10}`, Port: 8080 },
        HealthCheckPort: "8080",
        TargetHealth: { State: "healthy" },
      }));
    }
    return [];
  }

  // ------------------------------------------------------------ for the data plane and the admin state

  /**
   * The target group a request to the load balancer's listener goes to: the
   * first rule whose path pattern matches, else the default action; among a
   * weighted forward's groups by weight, drawn with `random` (0 ≤ r < 1).
   * Undefined when the action is not a forward or every weight is 0.
   */
  route(loadBalancerName: string, port: number, path: string, random: number): string | undefined {
    const balancer = [...this.loadBalancers.values()].find(
      (candidate) => candidate.name === loadBalancerName,
    );
    const listener = [...this.listeners.values()].find(
      (candidate) => candidate.loadBalancerArn === balancer?.arn && candidate.port === port,
    );
    if (!listener) return undefined;
    const rule = [...this.rules.values()]
      .filter((candidate) => candidate.listenerArn === listener.arn)
      .sort((a, b) => a.priority - b.priority)
      .find((candidate) => candidate.conditions.some((condition) => pathMatches(condition, path)));
    const forward = (rule?.actions ?? listener.defaultActions).find((action) => action.Type === "forward");
    const groups = forward?.ForwardConfig?.TargetGroups ?? [];
    const total = groups.reduce((sum, group) => sum + group.Weight, 0);
    if (total === 0) return undefined;
    let point = random * total;
    for (const group of groups) {
      point -= group.Weight;
      if (point < 0) return this.targetGroups.get(group.TargetGroupArn)?.name;
    }
    return this.targetGroups.get(groups.at(-1)!.TargetGroupArn)?.name;
  }

  snapshot(): Json {
    return {
      loadBalancers: [...this.loadBalancers.values()].map((balancer) => this.loadBalancerShape(balancer)),
      listeners: [...this.listeners.values()].map((listener) => this.listenerShape(listener)),
      rules: [...this.rules.values()].map((rule) => ({
        ...this.ruleShape(rule),
        ListenerArn: rule.listenerArn,
      })),
      targetGroups: [...this.targetGroups.values()].map((group) => this.targetGroupShape(group)),
    };
  }
}

/** A forward action as ELBv2 answers it: TargetGroupArn beside ForwardConfig only when it has one group. */
function normaliseForward(action: ElbV2Action): ElbV2Action {
  const groups = action.ForwardConfig?.TargetGroups ?? [];
  const { TargetGroupArn: _arn, ...rest } = action;
  return groups.length === 1 ? { ...rest, TargetGroupArn: groups[0]!.TargetGroupArn } : rest;
}

function pathMatches(condition: Json, path: string): boolean {
  if (condition.Field !== "path-pattern") return false;
  const values = stringList((condition.PathPatternConfig as Json | undefined)?.Values ?? condition.Values);
  return values.some((pattern) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
    ).test(path),
  );
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** PageSize (1–400) and Marker (an index) over a list, as the Describe operations page. */
function page(input: Json, member: string, items: Json[]): Json {
  const size = input.PageSize === undefined ? ELBV2_LIMITS.maxPageSize : Number(input.PageSize);
  if (!Number.isInteger(size) || size < 1 || size > ELBV2_LIMITS.maxPageSize)
    throw validation(
      "pageSize",
      input.PageSize,
      `Member must have value between 1 and ${ELBV2_LIMITS.maxPageSize}`,
    );
  const start = input.Marker === undefined ? 0 : Number(input.Marker);
  if (!Number.isInteger(start) || start < 0)
    throw error("ValidationError", `The marker '${String(input.Marker)}' is not valid`);
  const slice = items.slice(start, start + size);
  return { [member]: slice, ...(start + size < items.length ? { NextMarker: String(start + size) } : {}) };
}

// ------------------------------------------------------------ the Query wire format

/**
 * Decodes a Query body: `A.member.1.B=x` becomes `{ A: [{ B: "x" }] }`. Values
 * stay strings (each operation converts what it takes); an empty value for a
 * list member (`A=`) is the empty list.
 */
export function decodeQuery(body: string): { action?: string; version?: string; input: Json } {
  const params = new URLSearchParams(body);
  const root: Json = {};
  let action: string | undefined;
  let version: string | undefined;
  for (const [key, value] of params) {
    if (key === "Action") action = value;
    else if (key === "Version") version = value;
    else place(root, key.split("."), value, key);
  }
  return { ...(action ? { action } : {}), ...(version ? { version } : {}), input: lists(root) as Json };
}

const LIST = Symbol("list");

function place(target: Json, path: string[], value: string, key: string): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    target[head] = value === "" && target[head] === undefined ? { [LIST]: true } : value;
    return;
  }
  if (rest[0] === "member") {
    const index = rest[1];
    if (index === undefined || !/^[1-9]\d*$/.test(index))
      throw error("ValidationError", `The parameter ${key} is not a valid list member`);
    const list = (
      typeof target[head] === "object" && target[head] !== null ? target[head] : { [LIST]: true }
    ) as Json;
    target[head] = list;
    if (rest.length === 2) list[index] = value;
    else {
      const item = (typeof list[index] === "object" && list[index] !== null ? list[index] : {}) as Json;
      list[index] = item;
      place(item, rest.slice(2), value, key);
    }
    return;
  }
  const child = (typeof target[head] === "object" && target[head] !== null ? target[head] : {}) as Json;
  target[head] = child;
  place(child, rest, value, key);
}

function lists(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const object = value as Json & { [LIST]?: boolean };
  if (object[LIST]) {
    return Object.keys(object)
      .sort((a, b) => Number(a) - Number(b))
      .map((key) => lists(object[key]));
  }
  return Object.fromEntries(Object.entries(object).map(([key, child]) => [key, lists(child)]));
}

function element(name: string, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value))
    return `<${name}>${value.map((item) => element("member", item)).join("")}</${name}>`;
  if (typeof value === "object") {
    return `<${name}>${Object.entries(value as Json)
      .map(([key, child]) => element(key, child))
      .join("")}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}
