import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initialStatus } from "../../src/model/status.js";
import {
  findMigration,
  loadSpec,
  readStatus,
  SpecFileError,
  SpecInvalidError,
  statusPath,
  UnknownMigrationError,
  writeStatus,
} from "../../src/spec/files.js";
import { repoRoot } from "../support/run-action.js";

const example = readFileSync(join(repoRoot, "migrations.json"), "utf8");
const NOW = new Date("2026-03-01T12:00:00.000Z");
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cutover-files-"));
  mkdirSync(join(dir, "load-tests"));
  for (const name of ["smoke.yml", "sustained-100rps.yml", "spike-500rps.yml"])
    writeFileSync(join(dir, "load-tests", name), "config: {}\n");
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("loadSpec and findMigration", () => {
  it("loads a valid spec, checking scenario files beside it", async () => {
    writeFileSync(join(dir, "migrations.json"), example);
    const spec = await loadSpec(join(dir, "migrations.json"));
    expect(findMigration(spec, "orders-api").phase).toBe("staging");
  });

  it("throws SpecInvalidError carrying every error", async () => {
    const spec = JSON.parse(example);
    spec.migrations[0].phases[1].steps[0].weight = 150;
    spec.migrations[0].phase = "nowhere";
    writeFileSync(join(dir, "migrations.json"), JSON.stringify(spec, null, 2));
    const error = await loadSpec(join(dir, "migrations.json")).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SpecInvalidError);
    const invalid = error as SpecInvalidError;
    expect(invalid.errors.map((each) => each.path)).toEqual([
      "migrations[0].phase",
      "migrations[0].phases[1].steps[0].weight",
    ]);
    expect(invalid.message).toMatch(
      /is not valid \(2 errors\):\n.*migrations\.json:8 migrations\[0\]\.phase: "nowhere"/,
    );
  });

  it("a missing scenario file next to the spec is an error", async () => {
    writeFileSync(join(dir, "migrations.json"), example);
    rmSync(join(dir, "load-tests", "smoke.yml"));
    await expect(loadSpec(join(dir, "migrations.json"))).rejects.toThrow(
      /steps\[1\]\.scenario: "load-tests\/smoke\.yml" does not exist/,
    );
  });

  it("a missing spec file is a SpecFileError", async () => {
    await expect(loadSpec(join(dir, "nope.json"))).rejects.toBeInstanceOf(SpecFileError);
  });

  it("an unknown migration lists the ids that exist", async () => {
    writeFileSync(join(dir, "migrations.json"), example);
    const spec = await loadSpec(join(dir, "migrations.json"));
    expect(() => findMigration(spec, "billing")).toThrow(
      new UnknownMigrationError("billing", ["orders-api"]),
    );
    expect(() => findMigration(spec, "billing")).toThrow(
      'no migration "billing" in the spec; it defines "orders-api"',
    );
  });
});

describe("status files", () => {
  it("lives at status/<id>.json beside the spec", () => {
    expect(statusPath("/repo", "orders-api")).toBe("/repo/status/orders-api.json");
  });

  it("reads the initial status when the file is absent", async () => {
    expect(await readStatus(dir, "orders-api", NOW)).toEqual(initialStatus("orders-api", NOW));
  });

  it("writes stable two-space JSON with a trailing newline, atomically, and reads it back", async () => {
    const status = {
      ...initialStatus("orders-api", NOW),
      phase: "canary-10",
      state: "baking" as const,
      weights: { old: 90, new: 10 },
    };
    const path = await writeStatus(dir, status);
    expect(path).toBe(statusPath(dir, "orders-api"));
    const text = readFileSync(path, "utf8");
    expect(text).toBe(`${JSON.stringify(status, null, 2)}\n`);
    expect(readdirSync(join(dir, "status"))).toEqual(["orders-api.json"]);
    expect(await readStatus(dir, "orders-api")).toEqual(status);
  });

  it("refuses to write an invalid status, leaving the old file", async () => {
    await writeStatus(dir, initialStatus("orders-api", NOW));
    const before = readFileSync(statusPath(dir, "orders-api"), "utf8");
    const broken = { ...initialStatus("orders-api", NOW), weights: { old: 70, new: 70 } };
    await expect(writeStatus(dir, broken)).rejects.toThrow(/weights: old 70 \+ new 70 = 140/);
    expect(readFileSync(statusPath(dir, "orders-api"), "utf8")).toBe(before);
    expect(readdirSync(join(dir, "status"))).toEqual(["orders-api.json"]);
  });

  it("a malformed status file is a clear error naming the file and line", async () => {
    mkdirSync(join(dir, "status"));
    writeFileSync(
      statusPath(dir, "orders-api"),
      '{\n  "version": 1,\n  "migration": "orders-api",\n  oops\n}\n',
    );
    const error = await readStatus(dir, "orders-api").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SpecInvalidError);
    expect((error as SpecInvalidError).errors[0]).toMatchObject({
      line: 4,
      message: expect.stringContaining("not valid JSON"),
    });
  });

  it("a status file of another migration is rejected", async () => {
    mkdirSync(join(dir, "status"));
    writeFileSync(statusPath(dir, "orders-api"), JSON.stringify(initialStatus("billing", NOW)));
    await expect(readStatus(dir, "orders-api")).rejects.toThrow(
      /migration: "billing" is another migration's status/,
    );
  });
});
