// Runs every benchmark in turn and prints their figures. `npm run bench -- gate`
// runs only the named ones. Each benchmark is its own process so one's memory
// and timers cannot skew the next.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const BENCHMARKS = ["sandbox", "rollback", "gate", "guardian", "judge"] as const;

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(", ")}: choose from ${BENCHMARKS.join(", ")}`);
  process.exit(2);
}

let failed = 0;
for (const name of wanted.length > 0 ? wanted : BENCHMARKS) {
  const file = join(import.meta.dirname, `${name}.ts`);
  if (!existsSync(file)) {
    console.error(`bench/${name}.ts is missing`);
    failed++;
    continue;
  }
  console.log(`\n### ${name}\n`);
  const result = spawnSync(process.execPath, ["--import", "tsx", file], { stdio: "inherit" });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
