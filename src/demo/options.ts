/**
 * Command line of the demo and the timing profile it picks: the normal run
 * shows every phase at a pace a person can follow; `--fast` shortens bakes,
 * load tests and the hold for tests.
 */
import { resolve } from "node:path";

/** How long each part of the demo lasts, in seconds unless stated. */
export interface DemoProfile {
  name: "normal" | "fast";
  /** Background requests per second through each migration's data plane. */
  backgroundRps: number;
  /** Bake of each traffic phase. */
  bakeSeconds: number;
  /** Gate period (a CloudWatch high-resolution period). */
  gatePeriod: "1s" | "5s";
  /** Fewest requests on the new side over a gate window before a verdict counts. */
  minSamples: number;
  /** Pause between gate evaluations while a phase bakes. */
  gatePollSeconds: number;
  /** Scaled-down load tests: sustained and spike rates and lengths. */
  sustained: { rampSeconds: number; seconds: number; rps: number };
  spike: { baseRps: number; peakRps: number; rampSeconds: number; peakSeconds: number; edgeSeconds: number };
  /** Decommission: window the old side must have been quiet, and the hold before delete. */
  quietWindowSeconds: number;
  holdSeconds: number;
  /** Act two: bake of the phase the new side fails in (long enough for the breach to be seen). */
  failingBakeSeconds: number;
  /** Act two: error rate injected into the new side. */
  injectedErrorRate: number;
  /** Act two: how long the old side is watched after the rollback. */
  watchAfterRollbackSeconds: number;
}

export const PROFILES: Record<DemoProfile["name"], DemoProfile> = {
  normal: {
    name: "normal",
    backgroundRps: 60,
    bakeSeconds: 8,
    gatePeriod: "1s",
    minSamples: 20,
    gatePollSeconds: 2,
    sustained: { rampSeconds: 2, seconds: 6, rps: 100 },
    spike: { baseRps: 50, peakRps: 200, rampSeconds: 2, peakSeconds: 3, edgeSeconds: 2 },
    quietWindowSeconds: 3,
    holdSeconds: 5,
    failingBakeSeconds: 20,
    injectedErrorRate: 0.2,
    watchAfterRollbackSeconds: 5,
  },
  fast: {
    name: "fast",
    backgroundRps: 50,
    bakeSeconds: 4,
    gatePeriod: "1s",
    minSamples: 10,
    gatePollSeconds: 1.5,
    sustained: { rampSeconds: 1, seconds: 2, rps: 60 },
    spike: { baseRps: 30, peakRps: 150, rampSeconds: 1, peakSeconds: 1, edgeSeconds: 1 },
    quietWindowSeconds: 2,
    holdSeconds: 3,
    failingBakeSeconds: 15,
    injectedErrorRate: 0.2,
    watchAfterRollbackSeconds: 3,
  },
};

export interface DemoOptions {
  profile: DemoProfile;
  /** Where the workspace, evidence and result live (`.cutover-demo` by default). */
  workDir: string;
  /** Machine-readable outcome. */
  resultPath: string;
  /** Force plain output (also implied by CI=true or a pipe). */
  plain?: boolean;
}

/** The usage text, printed by --help and after a bad argument. */
export const USAGE = `usage: npm run demo -- [--fast] [--dir <dir>] [--result <file>] [--plain]

  --fast           shorter bakes, load tests and hold (for tests)
  --dir <dir>      workspace of the demo (default .cutover-demo; removed and recreated)
  --result <file>  where the machine-readable outcome is written (default <dir>/result.json)
  --plain          plain lines, no colours (also when CI=true or output is not a terminal)`;

/** A bad command line; the message names the argument. */
export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n\n${USAGE}`);
    this.name = "UsageError";
  }
}

/** Parses the demo's arguments; `undefined` means --help was asked for. */
export function parseDemoArgs(argv: readonly string[], cwd = process.cwd()): DemoOptions | undefined {
  let fast = false;
  let plain: boolean | undefined;
  let dir: string | undefined;
  let result: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    const value = () => {
      const next = argv[++index];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${argument} needs a value`);
      return next;
    };
    switch (argument) {
      case "--fast":
        fast = true;
        break;
      case "--plain":
        plain = true;
        break;
      case "--dir":
        dir = value();
        break;
      case "--result":
        result = value();
        break;
      case "--help":
      case "-h":
        return undefined;
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(argument)}`);
    }
  }
  const workDir = resolve(cwd, dir ?? ".cutover-demo");
  return {
    profile: PROFILES[fast ? "fast" : "normal"],
    workDir,
    resultPath: resolve(cwd, result ?? resolve(workDir, "result.json")),
    ...(plain ? { plain } : {}),
  };
}
