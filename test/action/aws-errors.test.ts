import { describe, expect, it } from "vitest";
import { changeStatement, describeAwsError } from "../../src/action/aws-errors.js";

const error = (name: string, fault: "client" | "server", status: number, attempts: number) =>
  Object.assign(new Error(`Injected fault: ${name}`), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status, attempts },
  });

describe("AWS errors after the SDK's retries", () => {
  it("name the service, the operation and the attempts, and keep AWS's words", () => {
    expect(
      describeAwsError(
        "LambdaClient",
        "UpdateFunctionCodeCommand",
        error("InternalFailure", "server", 500, 6),
      ),
    ).toBe(
      "Lambda UpdateFunctionCode failed after 6 attempts: InternalFailure: Injected fault: InternalFailure; " +
        "AWS may or may not have applied it (no answer, a server error or throttling): re-run to converge, the actions are idempotent",
    );
  });

  it("say a failed read or a refused write changed nothing, and a throttled or failed write may have", () => {
    expect(changeStatement("ListResourceRecordSets", error("Throttling", "client", 400, 6))).toMatch(
      /nothing was changed/,
    );
    expect(changeStatement("ChangeResourceRecordSets", error("InvalidChangeBatch", "client", 400, 1))).toBe(
      "AWS refused it, so nothing was changed by it",
    );
    expect(changeStatement("UpdateService", error("ServerException", "server", 500, 6))).toMatch(
      /may or may not/,
    );
    expect(changeStatement("UpdateAlias", error("TooManyRequestsException", "client", 429, 6))).toMatch(
      /may or may not/,
    );
  });
});
