// Every action's action.yml must agree with the contract map its code reads,
// so an input or output can never be declared in one and missing from the other.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ActionContract } from "../../src/action/contract.js";
import { repoRoot } from "../support/run-action.js";

interface ActionYaml {
  name?: string;
  description?: string;
  inputs?: Record<string, { description?: string; required?: boolean; default?: string | number | boolean }>;
  outputs?: Record<string, { description?: string }>;
  runs?: { using?: string; main?: string };
}

const actionsDir = join(repoRoot, "actions");
const actionNames = existsSync(actionsDir)
  ? readdirSync(actionsDir).filter((name) => existsSync(join(actionsDir, name, "action.yml")))
  : [];

describe("action contracts", () => {
  it("finds the actions", () => {
    expect(actionNames.length).toBeGreaterThan(0);
  });

  for (const name of actionNames) {
    describe(name, async () => {
      const yml = parse(readFileSync(join(actionsDir, name, "action.yml"), "utf8")) as ActionYaml;
      const { contract } = (await import(join(actionsDir, name, "src", "contract.ts"))) as {
        contract: ActionContract;
      };

      it("runs the bundled dist on node24", () => {
        expect(yml.runs).toEqual({ using: "node24", main: "dist/index.js" });
        expect(existsSync(join(actionsDir, name, "dist", "index.js"))).toBe(true);
        expect(contract.name).toBe(name);
      });

      it("declares exactly the contract's inputs, with the same required flags and defaults", () => {
        expect(Object.keys(yml.inputs ?? {}).sort()).toEqual(Object.keys(contract.inputs).sort());
        for (const [input, declared] of Object.entries(contract.inputs)) {
          const fromYaml = yml.inputs?.[input];
          expect(fromYaml?.description?.trim(), `${name} input ${input}`).toBe(declared.description.trim());
          expect(fromYaml?.required ?? false, `${name} input ${input} required`).toBe(
            declared.required ?? false,
          );
          const yamlDefault = fromYaml?.default === undefined ? undefined : String(fromYaml.default);
          expect(yamlDefault, `${name} input ${input} default`).toBe(declared.default);
        }
      });

      it("declares exactly the contract's outputs", () => {
        expect(Object.keys(yml.outputs ?? {}).sort()).toEqual(Object.keys(contract.outputs).sort());
        for (const [output, declared] of Object.entries(contract.outputs)) {
          expect(yml.outputs?.[output]?.description?.trim(), `${name} output ${output}`).toBe(
            declared.description.trim(),
          );
        }
      });
    });
  }
});
