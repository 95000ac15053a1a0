#!/usr/bin/env node
// Runs the TypeScript CLI directly: tsx compiles it on load, so a fresh clone
// needs only `npm ci` before `npx cutover`.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
await main();
