import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  InvalidChangeBatch,
  InvalidInput,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
  NoSuchChange,
  NoSuchHostedZone,
  type ResourceRecordSet,
  Route53Client,
  waitUntilResourceRecordSetsChanged,
} from "@aws-sdk/client-route-53";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../sandbox/index.js";
import { clientConfig, rejectionOf, startTestSandbox } from "../fixtures/sandbox/control-plane.js";

const ZONE = "Z0123456789EXAMPLECOM";
const ALB = {
  HostedZoneId: "Z35SXDOTRQ7X7K",
  DNSName: "dualstack.orders-alb-1234567890.us-east-1.elb.amazonaws.com.",
  EvaluateTargetHealth: true,
};
const API_GATEWAY = {
  HostedZoneId: "Z1UJRXOUMOOFQ8",
  DNSName: "d-abcde12345.execute-api.us-east-1.amazonaws.com.",
  EvaluateTargetHealth: true,
};

let sandbox: Sandbox;
let route53: Route53Client;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  route53 = new Route53Client(clientConfig(sandbox));
});

afterAll(async () => {
  route53.destroy();
  await sandbox.close();
});

function weighted(
  setIdentifier: string,
  weight: number,
  extra: Partial<ResourceRecordSet> = {},
): ResourceRecordSet {
  return {
    Name: "api.example.com.",
    Type: "A",
    SetIdentifier: setIdentifier,
    Weight: weight,
    AliasTarget: setIdentifier === "lambda" ? API_GATEWAY : ALB,
    ...extra,
  };
}

async function change(changes: Change[], client = route53) {
  return client.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      ChangeBatch: { Comment: "test", Changes: changes },
    }),
  );
}

async function allRecords(): Promise<ResourceRecordSet[]> {
  const page = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: ZONE }));
  return page.ResourceRecordSets ?? [];
}

async function weights(): Promise<Record<string, number | undefined>> {
  const records = (await allRecords()).filter((record) => record.Name === "api.example.com.");
  return Object.fromEntries(records.map((record) => [record.SetIdentifier, record.Weight]));
}

describe("GetHostedZone", () => {
  it("answers the seeded zone, with the /hostedzone/ prefix the SDK strips and AWS adds back", async () => {
    const answer = await route53.send(new GetHostedZoneCommand({ Id: `/hostedzone/${ZONE}` }));
    expect(answer.HostedZone?.Id).toBe(`/hostedzone/${ZONE}`);
    expect(answer.HostedZone?.Name).toBe("example.com.");
    expect(answer.HostedZone?.Config?.PrivateZone).toBe(false);
    expect(answer.HostedZone?.ResourceRecordSetCount).toBe((await allRecords()).length);
    expect(answer.DelegationSet?.NameServers).toHaveLength(4);
  });

  it("answers NoSuchHostedZone (404) for a zone that does not exist", async () => {
    const error = await rejectionOf(route53.send(new GetHostedZoneCommand({ Id: "ZNOTHERE" })));
    expect(error).toBeInstanceOf(NoSuchHostedZone);
    expect(error.message).toBe("No hosted zone found with ID: ZNOTHERE");
    expect(error.$metadata?.httpStatusCode).toBe(404);
  });
});

describe("ListResourceRecordSets", () => {
  it("lists in Route 53's order: labels reversed, then type, then set identifier", async () => {
    const records = await allRecords();
    expect(
      records.map((record) => `${record.Name} ${record.Type} ${record.SetIdentifier ?? ""}`.trim()),
    ).toEqual([
      "example.com. NS",
      "example.com. SOA",
      "api.example.com. A ecs-fargate",
      "api.example.com. A lambda",
      "status.example.com. CNAME",
    ]);
    const alias = records.find((record) => record.SetIdentifier === "ecs-fargate");
    expect(alias).toEqual({
      Name: "api.example.com.",
      Type: "A",
      SetIdentifier: "ecs-fargate",
      Weight: 100,
      AliasTarget: ALB,
    });
  });

  it("pages with MaxItems and the NextRecordName/Type/Identifier of each page", async () => {
    const pool = Array.from(
      { length: 5 },
      (_, index): Change => ({
        Action: "CREATE",
        ResourceRecordSet: {
          Name: "pool.example.com.",
          Type: "A",
          SetIdentifier: `node-${index}`,
          Weight: 1,
          TTL: 30,
          ResourceRecords: [{ Value: `10.0.0.${index + 1}` }],
        },
      }),
    );
    await change(pool);
    const expected = await allRecords();
    const seen: ResourceRecordSet[] = [];
    const identifiersUsed: string[] = [];
    let page: ListResourceRecordSetsCommandOutput = await route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: ZONE, MaxItems: 2 }),
    );
    for (let pages = 0; pages < 20; pages++) {
      expect(page.ResourceRecordSets?.length).toBeLessThanOrEqual(2);
      seen.push(...(page.ResourceRecordSets ?? []));
      if (!page.IsTruncated) break;
      if (page.NextRecordIdentifier) identifiersUsed.push(page.NextRecordIdentifier);
      page = await route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: ZONE,
          MaxItems: 2,
          StartRecordName: page.NextRecordName,
          StartRecordType: page.NextRecordType,
          StartRecordIdentifier: page.NextRecordIdentifier,
        }),
      );
    }
    expect(page.IsTruncated).toBe(false);
    expect(seen).toEqual(expected);
    expect(identifiersUsed.length).toBeGreaterThan(0);
    await change(pool.map((entry) => ({ ...entry, Action: "DELETE" })));
  });

  it("starts at a given name and type", async () => {
    const page = await route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: ZONE,
        StartRecordName: "api.example.com",
        StartRecordType: "A",
        StartRecordIdentifier: "lambda",
        MaxItems: 1,
      }),
    );
    expect(page.ResourceRecordSets?.map((record) => record.SetIdentifier)).toEqual(["lambda"]);
    expect(page.IsTruncated).toBe(true);
    expect(page.NextRecordName).toBe("status.example.com.");
    expect(page.NextRecordType).toBe("CNAME");
    expect(page.NextRecordIdentifier).toBeUndefined();
  });

  it("refuses StartRecordType without StartRecordName with InvalidInput", async () => {
    const error = await rejectionOf(
      route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: ZONE, StartRecordType: "A" })),
    );
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toContain("StartRecordType requires StartRecordName");
  });
});

describe("ChangeResourceRecordSets and GetChange", () => {
  it("changes both weights in one batch, PENDING then INSYNC, and waitUntilResourceRecordSetsChanged returns", async () => {
    const answer = await change([
      { Action: "UPSERT", ResourceRecordSet: weighted("ecs-fargate", 90) },
      { Action: "UPSERT", ResourceRecordSet: weighted("lambda", 10) },
    ]);
    expect(answer.ChangeInfo?.Id).toMatch(/^\/change\/C[A-Z0-9]+$/);
    expect(answer.ChangeInfo?.Status).toBe("PENDING");
    expect(answer.ChangeInfo?.Comment).toBe("test");
    expect(await weights()).toEqual({ "ecs-fargate": 90, lambda: 10 });
    const pending = await route53.send(new GetChangeCommand({ Id: answer.ChangeInfo?.Id }));
    expect(pending.ChangeInfo?.Status).toBe("PENDING");
    const waited = await waitUntilResourceRecordSetsChanged(
      { client: route53, minDelay: 0.1, maxDelay: 0.2, maxWaitTime: 10 },
      { Id: answer.ChangeInfo?.Id },
    );
    expect(waited.state).toBe("SUCCESS");
    const synced = await route53.send(new GetChangeCommand({ Id: answer.ChangeInfo?.Id }));
    expect(synced.ChangeInfo?.Status).toBe("INSYNC");
    expect(synced.ChangeInfo?.SubmittedAt).toEqual(answer.ChangeInfo?.SubmittedAt);
    expect(sandbox.route53.weightedAnswers("api.example.com")).toEqual([
      { setIdentifier: "ecs-fargate", weight: 90, ttl: 60 },
      { setIdentifier: "lambda", weight: 10, ttl: 60 },
    ]);
  });

  it("answers NoSuchChange (404) for an unknown change id", async () => {
    const error = await rejectionOf(route53.send(new GetChangeCommand({ Id: "/change/CNOTACHANGE" })));
    expect(error).toBeInstanceOf(NoSuchChange);
    expect(error.$metadata?.httpStatusCode).toBe(404);
  });

  it("refuses a weight of 300 with InvalidChangeBatch and changes nothing", async () => {
    const before = await allRecords();
    const error = await rejectionOf(
      change([{ Action: "UPSERT", ResourceRecordSet: weighted("lambda", 300) }]),
    );
    expect(error).toBeInstanceOf(InvalidChangeBatch);
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.message).toContain("Weight 300");
    expect(await allRecords()).toEqual(before);
  });

  it("applies nothing of a batch with one bad change, and lists every problem", async () => {
    const before = await allRecords();
    const error = await rejectionOf(
      change([
        { Action: "UPSERT", ResourceRecordSet: weighted("ecs-fargate", 0) },
        { Action: "CREATE", ResourceRecordSet: weighted("lambda", 255) },
        {
          Action: "DELETE",
          ResourceRecordSet: {
            Name: "gone.example.com.",
            Type: "A",
            TTL: 60,
            ResourceRecords: [{ Value: "10.1.1.1" }],
          },
        },
      ]),
    );
    expect(error).toBeInstanceOf(InvalidChangeBatch);
    expect(error.message).toContain(
      "Tried to create resource record set [name='api.example.com.', type='A', set-identifier='lambda'] but it already exists",
    );
    expect(error.message).toContain(
      "Tried to delete resource record set [name='gone.example.com.', type='A'] but it was not found",
    );
    expect(await allRecords()).toEqual(before);
  });

  it("deletes only with the exact current values", async () => {
    const current = (await allRecords()).find(
      (record) => record.SetIdentifier === "lambda",
    ) as ResourceRecordSet;
    const mismatch = await rejectionOf(
      change([{ Action: "DELETE", ResourceRecordSet: { ...current, Weight: (current.Weight ?? 0) + 1 } }]),
    );
    expect(mismatch).toBeInstanceOf(InvalidChangeBatch);
    expect(mismatch.message).toContain("but the values provided do not match the current values");
    await change([{ Action: "DELETE", ResourceRecordSet: current }]);
    expect(Object.keys(await weights())).toEqual(["ecs-fargate"]);
    await change([{ Action: "CREATE", ResourceRecordSet: current }]);
    expect((await allRecords()).find((record) => record.SetIdentifier === "lambda")).toEqual(current);
  });

  it("accepts DELETE then CREATE of the same record in one batch, but not two UPSERTs of it", async () => {
    const current = (await allRecords()).find(
      (record) => record.SetIdentifier === "lambda",
    ) as ResourceRecordSet;
    await change([
      { Action: "DELETE", ResourceRecordSet: current },
      { Action: "CREATE", ResourceRecordSet: { ...current, Weight: 7 } },
    ]);
    expect((await weights()).lambda).toBe(7);
    const error = await rejectionOf(
      change([
        { Action: "UPSERT", ResourceRecordSet: weighted("lambda", 8) },
        { Action: "UPSERT", ResourceRecordSet: weighted("lambda", 9) },
      ]),
    );
    expect(error).toBeInstanceOf(InvalidChangeBatch);
    expect(error.message).toContain("invalid set of changes");
    expect((await weights()).lambda).toBe(7);
  });

  it("refuses an alias with a TTL with InvalidInput", async () => {
    const error = await rejectionOf(
      change([{ Action: "UPSERT", ResourceRecordSet: weighted("lambda", 5, { TTL: 60 }) }]),
    );
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toContain(
      "Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]",
    );
  });

  it("refuses a weight without a set identifier, and a set identifier without a weight", async () => {
    const noIdentifier = await rejectionOf(
      change([
        {
          Action: "CREATE",
          ResourceRecordSet: {
            Name: "x.example.com",
            Type: "A",
            Weight: 1,
            TTL: 60,
            ResourceRecords: [{ Value: "10.0.0.1" }],
          },
        },
      ]),
    );
    expect(noIdentifier).toBeInstanceOf(InvalidInput);
    expect(noIdentifier.message).toContain("Missing field 'SetIdentifier'");
    const noWeight = await rejectionOf(
      change([
        {
          Action: "CREATE",
          ResourceRecordSet: {
            Name: "x.example.com",
            Type: "A",
            SetIdentifier: "a",
            TTL: 60,
            ResourceRecords: [{ Value: "10.0.0.1" }],
          },
        },
      ]),
    );
    expect(noWeight).toBeInstanceOf(InvalidInput);
  });

  it("refuses mixing weighted and non-weighted records of one name and type", async () => {
    const error = await rejectionOf(
      change([
        { Action: "CREATE", ResourceRecordSet: { Name: "api.example.com", Type: "A", AliasTarget: ALB } },
      ]),
    );
    expect(error).toBeInstanceOf(InvalidChangeBatch);
    expect(error.message).toContain("weighted sets exist with the same name and type");
    const reverse = await rejectionOf(
      change([
        {
          Action: "CREATE",
          ResourceRecordSet: {
            Name: "status.example.com",
            Type: "CNAME",
            SetIdentifier: "b",
            Weight: 1,
            TTL: 60,
            ResourceRecords: [{ Value: "other.example.net" }],
          },
        },
      ]),
    );
    expect(reverse).toBeInstanceOf(InvalidChangeBatch);
    expect(reverse.message).toContain("a non-weighted set exists");
  });

  it("refuses records outside the zone, bad IPv4 values and CNAMEs beside other types", async () => {
    const outside = await rejectionOf(
      change([
        {
          Action: "CREATE",
          ResourceRecordSet: {
            Name: "api.example.org",
            Type: "A",
            TTL: 60,
            ResourceRecords: [{ Value: "10.0.0.1" }],
          },
        },
      ]),
    );
    expect(outside.message).toContain(
      "RRSet with DNS name api.example.org. is not permitted in zone example.com.",
    );
    const badAddress = await rejectionOf(
      change([
        {
          Action: "CREATE",
          ResourceRecordSet: {
            Name: "ip.example.com",
            Type: "A",
            TTL: 60,
            ResourceRecords: [{ Value: "300.0.0.1" }],
          },
        },
      ]),
    );
    expect(badAddress).toBeInstanceOf(InvalidChangeBatch);
    expect(badAddress.message).toContain("not a valid IPv4 address");
    const cname = await rejectionOf(
      change([
        {
          Action: "CREATE",
          ResourceRecordSet: {
            Name: "status.example.com",
            Type: "TXT",
            TTL: 60,
            ResourceRecords: [{ Value: '"v=1"' }],
          },
        },
      ]),
    );
    expect(cname.message).toContain("conflicts with other records with the same DNS name");
  });

  it("keeps health check ids and resource records on weighted records", async () => {
    const record: ResourceRecordSet = {
      Name: "hc.example.com.",
      Type: "A",
      SetIdentifier: "blue",
      Weight: 50,
      TTL: 30,
      ResourceRecords: [{ Value: "10.0.0.10" }, { Value: "10.0.0.11" }],
      HealthCheckId: "0f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
    };
    await change([{ Action: "CREATE", ResourceRecordSet: record }]);
    expect((await allRecords()).find((candidate) => candidate.Name === "hc.example.com.")).toEqual(record);
    const malformed = await rejectionOf(
      change([{ Action: "UPSERT", ResourceRecordSet: { ...record, HealthCheckId: "not-a-uuid" } }]),
    );
    expect(malformed).toBeInstanceOf(InvalidInput);
  });

  it("refuses deleting the zone's SOA record", async () => {
    const soa = (await allRecords()).find((record) => record.Type === "SOA") as ResourceRecordSet;
    const error = await rejectionOf(change([{ Action: "DELETE", ResourceRecordSet: soa }]));
    expect(error).toBeInstanceOf(InvalidChangeBatch);
  });
});

describe("operations the sandbox does not serve", () => {
  it("answers UnknownOperationException rather than succeeding", async () => {
    const error = await rejectionOf(route53.send(new ListHostedZonesCommand({})));
    expect(error.name).toBe("UnknownOperationException");
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });
});
