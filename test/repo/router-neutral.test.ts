// The operations speak the router contract only: adding a router is a
// provider file, a schema fragment and a registry line, never an edit of
// src/ops/. These checks fail when an operation names a router or reaches
// into one router's fields, or when a contract file pulls in an implementation.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROUTER_KINDS } from "../../src/providers/traffic-routers.js";
import { repoRoot } from "../support/run-action.js";

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(dir, name));
}

/** Words that belong to one router: its kind, its product's name, and fields of its spec or snapshot. */
const ROUTER_WORDS = [
  ...ROUTER_KINDS.map((kind) => new RegExp(`["'\`]${kind}["'\`]`)),
  /route ?53/i,
  /setIdentifier/,
  /hostedZone/,
  /recordName/,
  /targetGroupArn/i,
  /listenerArn/i,
  /\bELBv2\b|elbv2/i,
];

describe("router-neutral operations", () => {
  const files = sourcesUnder("src/ops");

  it("finds the operations to check", () => {
    expect(files).toContain(join("src/ops", "traffic.ts"));
    expect(ROUTER_KINDS).toContain("route53");
  });

  it("src/ops never names a router kind or a router's own fields", () => {
    const found: string[] = [];
    for (const file of files) {
      readFileSync(join(repoRoot, file), "utf8")
        .split("\n")
        .forEach((line, index) => {
          for (const word of ROUTER_WORDS) {
            if (word.test(line)) found.push(`${file}:${index + 1}: ${line.trim()} (${word})`);
          }
        });
    }
    expect(found).toEqual([]);
  });

  it("the word list catches what it is meant to", () => {
    const line = 'if (migration.router.kind === "route53") use(router.oldSetIdentifier);';
    expect(ROUTER_WORDS.filter((word) => word.test(line))).toHaveLength(2);
  });
});

describe("contracts import no implementation", () => {
  const CONTRACTS = ["src/providers/traffic-router.ts", "src/providers/compute-target.ts"];

  it.each(CONTRACTS)("%s imports only types, from the model or another contract", (file) => {
    const text = readFileSync(join(repoRoot, file), "utf8");
    const imports = [...text.matchAll(/^(import|export)( type)? [^;]*? from "(\.[^"]+)";/gms)];
    expect(imports.length).toBeGreaterThan(0);
    for (const [statement, , typeOnly, target] of imports) {
      const fromContract = CONTRACTS.some((contract) =>
        contract.endsWith(target!.replace(/^\.\//, "").replace(/\.js$/, ".ts")),
      );
      const fromModel = target!.startsWith("../model/");
      expect({ statement, ok: Boolean(typeOnly) && (fromContract || fromModel) }).toEqual({
        statement,
        ok: true,
      });
    }
  });
});
