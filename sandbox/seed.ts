/**
 * Seed files: the world a sandbox starts with. Loading one checks every field
 * and what AWS itself would refuse (records go through the Route 53 change
 * engine), and reports all problems at once, each with its JSON path.
 */
import { readFile } from "node:fs/promises";
import { isFargateSize } from "./ecs.js";
import { elbv2SeedProblems } from "./elbv2.js";
import { buildSeedZone, RECORD_TYPES } from "./route53.js";
import type { SandboxSeed } from "./types.js";

/** One problem in a seed, at a JSON path such as `$.route53.hostedZones[0].records[1].weight`. */
export interface SeedProblem {
  path: string;
  message: string;
}

/** A seed that cannot be used; `problems` lists every one found. */
export class SeedError extends Error {
  constructor(
    readonly source: string,
    readonly problems: SeedProblem[],
  ) {
    super(
      `${source} is not a valid sandbox seed:\n${problems.map((problem) => `  ${problem.path}: ${problem.message}`).join("\n")}`,
    );
    this.name = "SeedError";
  }
}

/** Reads and validates a seed file. */
export async function loadSeed(file: string): Promise<SandboxSeed> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new SeedError(file, [{ path: "$", message: `cannot read the file: ${(error as Error).message}` }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SeedError(file, [{ path: "$", message: `not valid JSON: ${(error as Error).message}` }]);
  }
  return validateSeed(value, file);
}

/** Validates a parsed seed; throws SeedError listing every problem. */
export function validateSeed(value: unknown, source = "seed"): SandboxSeed {
  const checker = new SeedChecker();
  checker.root(value);
  if (checker.problems.length > 0) throw new SeedError(source, checker.problems);
  return value as SandboxSeed;
}

type Json = Record<string, unknown>;

class SeedChecker {
  readonly problems: SeedProblem[] = [];

  root(value: unknown): void {
    const seed = this.object(value, "$", [
      "region",
      "accountId",
      "route53",
      "ecs",
      "lambda",
      "elbv2",
      "dataPlane",
    ]);
    if (!seed) return;
    this.optionalMatch(seed, "region", "$", /^[a-z]{2}(-gov)?-[a-z]+-\d$/, "an AWS region such as us-east-1");
    this.optionalMatch(seed, "accountId", "$", /^\d{12}$/, "a 12-digit AWS account id");
    if (seed.route53 !== undefined) this.route53(seed.route53, "$.route53");
    if (seed.ecs !== undefined) this.ecs(seed.ecs, "$.ecs");
    if (seed.lambda !== undefined) this.lambda(seed.lambda, "$.lambda");
    if (seed.elbv2 !== undefined) this.problems.push(...elbv2SeedProblems(seed.elbv2, "$.elbv2"));
    if (seed.dataPlane !== undefined && this.problems.length === 0)
      this.dataPlane(seed as SandboxSeed, seed.dataPlane, "$.dataPlane");
  }

  private route53(value: unknown, path: string): void {
    const route53 = this.object(value, path, ["hostedZones", "propagationMs"]);
    if (!route53) return;
    this.optionalInteger(route53, "propagationMs", path, 0, 3_600_000);
    const zones = this.array(route53.hostedZones, `${path}.hostedZones`);
    const ids = new Set<string>();
    zones?.forEach((zoneValue, zoneIndex) => {
      const zonePath = `${path}.hostedZones[${zoneIndex}]`;
      const zone = this.object(zoneValue, zonePath, ["id", "name", "records"]);
      if (!zone) return;
      const id = this.match(
        zone,
        "id",
        zonePath,
        /^(\/hostedzone\/)?Z[A-Z0-9]{1,31}$/,
        "a hosted zone id: Z followed by up to 31 upper-case letters and digits",
      );
      if (id !== undefined && ids.has(id))
        this.problem(`${zonePath}.id`, `hosted zone id ${id} is declared twice`);
      if (id !== undefined) ids.add(id);
      this.match(
        zone,
        "name",
        zonePath,
        /^([a-z0-9-]{1,63}\.)+[a-z0-9-]{1,63}\.?$/i,
        "a domain name such as example.com",
      );
      const records = this.array(zone.records, `${zonePath}.records`);
      const before = this.problems.length;
      records?.forEach((record, recordIndex) => {
        this.record(record, `${zonePath}.records[${recordIndex}]`);
      });
      if (this.problems.length > before || !records || id === undefined || typeof zone.name !== "string")
        return;
      const { problems } = buildSeedZone(zone as never);
      for (const problem of problems) this.problem(`${zonePath}.records[${problem.index}]`, problem.message);
    });
  }

  private record(value: unknown, path: string): void {
    const record = this.object(value, path, [
      "name",
      "type",
      "ttl",
      "setIdentifier",
      "weight",
      "aliasTarget",
      "healthCheckId",
      "values",
    ]);
    if (!record) return;
    this.match(record, "name", path, /^[^\s]{1,1024}$/, "a DNS name such as api.example.com");
    const type = record.type;
    if (typeof type !== "string" || !RECORD_TYPES.has(type))
      this.problem(
        `${path}.type`,
        `must be one of ${[...RECORD_TYPES].join(", ")}; got ${JSON.stringify(type)}`,
      );
    this.optionalInteger(record, "ttl", path, 0, 2147483647);
    this.optionalMatch(
      record,
      "setIdentifier",
      path,
      /^.{1,128}$/,
      "a set identifier of 1 to 128 characters",
    );
    this.optionalInteger(record, "weight", path, 0, 255);
    this.optionalMatch(
      record,
      "healthCheckId",
      path,
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
      "a health check id (a UUID)",
    );
    if (record.values !== undefined) {
      const values = this.array(record.values, `${path}.values`);
      values?.forEach((item, index) => {
        if (typeof item !== "string" || item.length === 0)
          this.problem(`${path}.values[${index}]`, `must be a non-empty string; got ${JSON.stringify(item)}`);
      });
    }
    if (record.aliasTarget !== undefined) {
      const aliasPath = `${path}.aliasTarget`;
      const alias = this.object(record.aliasTarget, aliasPath, [
        "hostedZoneId",
        "dnsName",
        "evaluateTargetHealth",
      ]);
      if (alias) {
        this.match(
          alias,
          "hostedZoneId",
          aliasPath,
          /^Z[A-Z0-9]{1,31}$/,
          "the hosted zone id of the alias target, e.g. Z35SXDOTRQ7X7K for an ALB in us-east-1",
        );
        this.match(alias, "dnsName", aliasPath, /^[^\s]{1,1024}$/, "the DNS name of the alias target");
        if (typeof alias.evaluateTargetHealth !== "boolean")
          this.problem(
            `${aliasPath}.evaluateTargetHealth`,
            `must be true or false; got ${JSON.stringify(alias.evaluateTargetHealth)}`,
          );
      }
    }
  }

  private ecs(value: unknown, path: string): void {
    const ecs = this.object(value, path, ["clusters", "taskTransitionMs"]);
    if (!ecs) return;
    this.optionalInteger(ecs, "taskTransitionMs", path, 0, 3_600_000);
    const names = new Set<string>();
    this.array(ecs.clusters, `${path}.clusters`)?.forEach((clusterValue, clusterIndex) => {
      const clusterPath = `${path}.clusters[${clusterIndex}]`;
      const cluster = this.object(clusterValue, clusterPath, ["name", "services"]);
      if (!cluster) return;
      const name = this.match(
        cluster,
        "name",
        clusterPath,
        /^[A-Za-z0-9_-]{1,255}$/,
        "a cluster name: letters, digits, hyphens and underscores",
      );
      if (name !== undefined && names.has(name))
        this.problem(`${clusterPath}.name`, `cluster ${name} is declared twice`);
      if (name !== undefined) names.add(name);
      const services = new Set<string>();
      this.array(cluster.services, `${clusterPath}.services`)?.forEach((serviceValue, serviceIndex) => {
        const servicePath = `${clusterPath}.services[${serviceIndex}]`;
        const service = this.object(serviceValue, servicePath, ["name", "desiredCount", "taskDefinition"]);
        if (!service) return;
        const serviceName = this.match(
          service,
          "name",
          servicePath,
          /^[A-Za-z0-9_-]{1,255}$/,
          "a service name: letters, digits, hyphens and underscores",
        );
        if (serviceName !== undefined && services.has(serviceName))
          this.problem(`${servicePath}.name`, `service ${serviceName} is declared twice in this cluster`);
        if (serviceName !== undefined) services.add(serviceName);
        this.integer(service, "desiredCount", servicePath, 0, 1000);
        const taskPath = `${servicePath}.taskDefinition`;
        const task = this.object(service.taskDefinition, taskPath, [
          "family",
          "image",
          "cpu",
          "memory",
          "executionRoleArn",
        ]);
        if (!task) return;
        this.match(
          task,
          "family",
          taskPath,
          /^[A-Za-z0-9_-]{1,255}$/,
          "a task definition family: letters, digits, hyphens and underscores",
        );
        this.match(task, "image", taskPath, /^\S{1,1024}$/, "a container image reference");
        this.optionalMatch(task, "cpu", taskPath, /^\d+$/, 'CPU units as a string, e.g. "256"');
        this.optionalMatch(task, "memory", taskPath, /^\d+$/, 'memory in MiB as a string, e.g. "512"');
        this.optionalMatch(
          task,
          "executionRoleArn",
          taskPath,
          /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
          'an IAM role ARN, e.g. "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"',
        );
        const cpu = typeof task.cpu === "string" ? task.cpu : "256";
        const memory = typeof task.memory === "string" ? task.memory : "512";
        if (/^\d+$/.test(cpu) && /^\d+$/.test(memory) && !isFargateSize(cpu, memory)) {
          this.problem(
            `${taskPath}.memory`,
            `no Fargate configuration exists for ${cpu} CPU and ${memory} MiB; see the task sizes at https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size`,
          );
        }
      });
    });
  }

  private lambda(value: unknown, path: string): void {
    const lambda = this.object(value, path, ["functions", "updateMs"]);
    if (!lambda) return;
    this.optionalInteger(lambda, "updateMs", path, 0, 3_600_000);
    const names = new Set<string>();
    this.array(lambda.functions, `${path}.functions`)?.forEach((fnValue, fnIndex) => {
      const fnPath = `${path}.functions[${fnIndex}]`;
      const fn = this.object(fnValue, fnPath, ["name", "runtime", "memorySize", "aliases"]);
      if (!fn) return;
      const name = this.match(
        fn,
        "name",
        fnPath,
        /^[a-zA-Z0-9-_]{1,64}$/,
        "a function name: up to 64 letters, digits, hyphens and underscores",
      );
      if (name !== undefined && names.has(name))
        this.problem(`${fnPath}.name`, `function ${name} is declared twice`);
      if (name !== undefined) names.add(name);
      this.optionalMatch(fn, "runtime", fnPath, /^[a-z0-9.]+$/, "a Lambda runtime such as nodejs22.x");
      this.optionalInteger(fn, "memorySize", fnPath, 128, 10240);
      const aliases = new Set<string>();
      this.array(fn.aliases, `${fnPath}.aliases`)?.forEach((aliasValue, aliasIndex) => {
        const aliasPath = `${fnPath}.aliases[${aliasIndex}]`;
        const alias = this.object(aliasValue, aliasPath, ["name", "version"]);
        if (!alias) return;
        const aliasName = this.match(
          alias,
          "name",
          aliasPath,
          /^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/,
          "an alias name: letters, digits, hyphens and underscores, not all digits",
        );
        if (aliasName !== undefined && aliases.has(aliasName))
          this.problem(`${aliasPath}.name`, `alias ${aliasName} is declared twice`);
        if (aliasName !== undefined) aliases.add(aliasName);
        this.optionalMatch(
          alias,
          "version",
          aliasPath,
          /^(\$LATEST|[1-9]\d{0,3})$/,
          'a version number such as "1", or "$LATEST"',
        );
      });
    });
  }

  /** An entry routed by an ALB listener: its listener and target groups must be declared under elbv2. */
  private albDataPlane(seed: SandboxSeed, entry: Json, entryPath: string): void {
    this.match(
      entry,
      "recordName",
      entryPath,
      /^\S{1,1024}$/,
      "the host name clients use for the load balancer",
    );
    this.optionalInteger(entry, "randomSeed", entryPath, 0, Number.MAX_SAFE_INTEGER);
    const balancer = entry.loadBalancer as { name?: unknown; port?: unknown };
    const declared = seed.elbv2?.loadBalancers.find((candidate) => candidate.name === balancer?.name);
    if (!declared?.listeners.some((listener) => listener.port === balancer?.port)) {
      this.problem(
        `${entryPath}.loadBalancer`,
        `no load balancer ${JSON.stringify(balancer?.name)} with a listener on port ${JSON.stringify(balancer?.port)} is declared under $.elbv2`,
      );
    }
    const groups = (seed.elbv2?.targetGroups ?? []).map((group) => group.name);
    const backends = this.object(entry.backends, `${entryPath}.backends`, undefined);
    for (const [name, backendValue] of Object.entries(backends ?? {})) {
      const backendPath = `${entryPath}.backends[${JSON.stringify(name)}]`;
      if (!groups.includes(name))
        this.problem(
          backendPath,
          `no target group ${name} is declared under $.elbv2; declared: ${groups.join(", ")}`,
        );
      this.backend(seed, backendValue, backendPath);
    }
  }

  /** The data plane's references must point at records, services and aliases the seed declares. */
  private dataPlane(seed: SandboxSeed, value: unknown, path: string): void {
    this.array(value, path)?.forEach((entryValue, entryIndex) => {
      const entryPath = `${path}[${entryIndex}]`;
      const entry = this.object(entryValue, entryPath, [
        "recordName",
        "loadBalancer",
        "resolvers",
        "randomSeed",
        "backends",
      ]);
      if (!entry) return;
      if (entry.loadBalancer !== undefined) {
        this.albDataPlane(seed, entry, entryPath);
        return;
      }
      const recordName = this.match(
        entry,
        "recordName",
        entryPath,
        /^\S{1,1024}$/,
        "the DNS name of a weighted record declared under route53",
      );
      this.optionalInteger(entry, "resolvers", entryPath, 1, 100_000);
      this.optionalInteger(entry, "randomSeed", entryPath, 0, Number.MAX_SAFE_INTEGER);
      const backends = this.object(entry.backends, `${entryPath}.backends`, undefined);
      if (!backends || recordName === undefined) return;
      const wanted = normalize(recordName);
      const identifiers = (seed.route53?.hostedZones ?? [])
        .flatMap((zone) => zone.records)
        .filter((record) => normalize(record.name) === wanted && record.setIdentifier !== undefined)
        .map((record) => record.setIdentifier as string);
      if (identifiers.length === 0)
        this.problem(
          `${entryPath}.recordName`,
          `no weighted record named ${recordName} is declared under $.route53`,
        );
      for (const [setIdentifier, backendValue] of Object.entries(backends)) {
        const backendPath = `${entryPath}.backends[${JSON.stringify(setIdentifier)}]`;
        if (identifiers.length > 0 && !identifiers.includes(setIdentifier)) {
          this.problem(
            backendPath,
            `${recordName} has no weighted record with SetIdentifier ${setIdentifier}; declared: ${identifiers.join(", ")}`,
          );
        }
        this.backend(seed, backendValue, backendPath);
      }
    });
  }

  private backend(seed: SandboxSeed, value: unknown, path: string): void {
    const backend = this.object(value, path, [
      "kind",
      "cluster",
      "service",
      "loadBalancer",
      "targetGroup",
      "perTaskRps",
      "functionName",
      "alias",
      "apiId",
      "stage",
      "reservedConcurrency",
      "behaviour",
    ]);
    if (!backend) return;
    if (backend.kind === "ecs") {
      const cluster = this.match(
        backend,
        "cluster",
        path,
        /^\S+$/,
        "the name of a cluster declared under $.ecs",
      );
      const service = this.match(backend, "service", path, /^\S+$/, "the name of a service of that cluster");
      this.match(
        backend,
        "loadBalancer",
        path,
        /^app\/[^/]+\/[0-9a-f]+$/,
        "ALB dimension value, e.g. app/orders-alb/50dc6c495c0c9188",
      );
      this.match(
        backend,
        "targetGroup",
        path,
        /^targetgroup\/[^/]+\/[0-9a-f]+$/,
        "target group dimension value, e.g. targetgroup/orders/943f017f100becff",
      );
      this.optionalInteger(backend, "perTaskRps", path, 1, 1_000_000);
      const declared = seed.ecs?.clusters
        .find((candidate) => candidate.name === cluster)
        ?.services.some((candidate) => candidate.name === service);
      if (cluster !== undefined && service !== undefined && !declared)
        this.problem(path, `ECS service ${cluster}/${service} is not declared under $.ecs`);
    } else if (backend.kind === "lambda") {
      const fn = this.match(
        backend,
        "functionName",
        path,
        /^\S+$/,
        "the name of a function declared under $.lambda",
      );
      const alias = this.match(backend, "alias", path, /^\S+$/, "an alias of that function");
      this.match(backend, "apiId", path, /^[a-z0-9]{1,32}$/, "an API Gateway API id, e.g. a1b2c3d4e5");
      this.match(backend, "stage", path, /^\S{1,128}$/, "an API Gateway stage name, e.g. $default");
      this.optionalInteger(backend, "reservedConcurrency", path, 0, 100_000);
      const declared = seed.lambda?.functions
        .find((candidate) => candidate.name === fn)
        ?.aliases.some((candidate) => candidate.name === alias);
      if (fn !== undefined && alias !== undefined && !declared)
        this.problem(path, `Lambda alias ${fn}:${alias} is not declared under $.lambda`);
    } else {
      this.problem(`${path}.kind`, `must be "ecs" or "lambda"; got ${JSON.stringify(backend.kind)}`);
    }
    if (backend.behaviour !== undefined)
      this.object(backend.behaviour, `${path}.behaviour`, [
        "latencyMs",
        "jitter",
        "errorRate",
        "coldStartMs",
        "idleTimeoutMs",
      ]);
  }

  // ------------------------------------------------------------ primitives

  private problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  private object(value: unknown, path: string, allowed: string[] | undefined): Json | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.problem(path, `must be an object; got ${describe(value)}`);
      return undefined;
    }
    if (allowed) {
      for (const key of Object.keys(value)) {
        if (!allowed.includes(key))
          this.problem(`${path}.${key}`, `is not a known field; accepted: ${allowed.join(", ")}`);
      }
    }
    return value as Json;
  }

  private array(value: unknown, path: string): unknown[] | undefined {
    if (!Array.isArray(value)) {
      this.problem(path, `must be a list; got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  private match(
    object: Json,
    key: string,
    path: string,
    pattern: RegExp,
    accepted: string,
  ): string | undefined {
    const value = object[key];
    if (typeof value !== "string" || !pattern.test(value)) {
      this.problem(`${path}.${key}`, `must be ${accepted}; got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  private optionalMatch(object: Json, key: string, path: string, pattern: RegExp, accepted: string): void {
    if (object[key] !== undefined) this.match(object, key, path, pattern, accepted);
  }

  private integer(object: Json, key: string, path: string, min: number, max: number): void {
    const value = object[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.problem(`${path}.${key}`, `must be an integer from ${min} to ${max}; got ${describe(value)}`);
    }
  }

  private optionalInteger(object: Json, key: string, path: string, min: number, max: number): void {
    if (object[key] !== undefined) this.integer(object, key, path, min, max);
  }
}

function describe(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

function normalize(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower : `${lower}.`;
}
