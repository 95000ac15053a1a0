// Prepares and checks a release of cutover, locally and without the network: other repositories call its
// actions and reusable workflows as `<owner>/cutover/...@vX.Y.Z` (exact) or `@vX` (moves with every release of
// major X), so a release is a commit whose bundles are current, an annotated tag vX.Y.Z and the tag vX moved to it.
//
//   node scripts/release.mjs prepare <X.Y.Z> [--date YYYY-MM-DD] [--dry-run]
//       checks the tree is clean and every dist/ current (`npm run check-dist`), writes the CHANGELOG.md section
//       from the commits since the last release, sets the version in package.json and package-lock.json, commits
//       "Release vX.Y.Z", tags vX.Y.Z (annotated, the notes as its message) and moves vX; prints the push command.
//   node scripts/release.mjs notes <vX.Y.Z>
//       prints the release notes of that version from CHANGELOG.md (what the release workflow publishes).
//   node scripts/release.mjs verify <vX.Y.Z>
//       fails unless the tag names the version in package.json, CHANGELOG.md has its section, and the tag, if it
//       exists, points at HEAD (what the release workflow checks before publishing).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

export class ReleaseError extends Error {}

function git(root, ...args) {
  const result = spawnSync("git", args, { cwd: root, encoding: "utf8" });
  if (result.status !== 0) {
    throw new ReleaseError(`git ${args.join(" ")}: ${(result.stderr || result.stdout).trim()}`);
  }
  return result.stdout.trim();
}

function compare(a, b) {
  const [x, y] = [a, b].map((version) => SEMVER.exec(version).slice(1).map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** The version a tag or argument names ("v1.2.3" or "1.2.3"); throws with what is accepted. */
export function parseVersion(text) {
  const version = String(text ?? "").replace(/^v/, "");
  if (!SEMVER.test(version)) {
    throw new ReleaseError(
      `"${text ?? ""}" is not a release version: expected X.Y.Z or vX.Y.Z, such as 1.4.0`,
    );
  }
  return version;
}

/** The newest vX.Y.Z tag reachable from HEAD, or undefined before the first release. */
export function lastRelease(root) {
  const tags = git(root, "tag", "--merged", "HEAD", "--list", "v*.*.*")
    .split("\n")
    .filter((tag) => SEMVER.test(tag.slice(1)));
  return tags.sort((a, b) => compare(a.slice(1), b.slice(1))).pop();
}

/** One bullet per commit since `since` (the whole history when undefined), oldest first, merges left out. */
export function changesSince(root, since) {
  const range = since ? [`${since}..HEAD`] : ["HEAD"];
  const log = git(root, "log", "--no-merges", "--reverse", "--format=%s", ...range);
  return log
    .split("\n")
    .filter((subject) => subject && !/^Release v\d/.test(subject))
    .map((subject) => `- ${subject}`);
}

/** The CHANGELOG.md section of `version`, heading included, or undefined. */
export function changelogSection(changelog, version) {
  const lines = changelog.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`## v${version} `) || line === `## v${version}`);
  if (start < 0) return undefined;
  let end = lines.findIndex((line, index) => index > start && line.startsWith("## "));
  if (end < 0) end = lines.length;
  return lines.slice(start, end).join("\n").trim();
}

const CHANGELOG_HEAD =
  "# Changelog\n\nEvery release of cutover, newest first. Pin `@vX.Y.Z` (or its commit SHA) for exactly that " +
  "release, or `@vX` to follow the releases of major version X.\n";

/** Writes the new section at the top of CHANGELOG.md (creating it), returning the section. */
function writeChangelog(root, version, date, changes) {
  const file = join(root, "CHANGELOG.md");
  const current = existsSync(file) ? readFileSync(file, "utf8") : CHANGELOG_HEAD;
  if (changelogSection(current, version))
    throw new ReleaseError(`CHANGELOG.md already has a section for v${version}`);
  const section = `## v${version} (${date})\n\n${changes.length > 0 ? changes.join("\n") : "- No changes since the last release."}`;
  const at = current.search(/^## /m);
  const next =
    at < 0
      ? `${current.trimEnd()}\n\n${section}\n`
      : `${current.slice(0, at)}${section}\n\n${current.slice(at)}`;
  writeFileSync(file, next);
  return section;
}

function setVersion(root, version) {
  const pkgFile = join(root, "package.json");
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8"));
  pkg.version = version;
  writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  const lockFile = join(root, "package-lock.json");
  if (existsSync(lockFile)) {
    const lock = JSON.parse(readFileSync(lockFile, "utf8"));
    lock.version = version;
    if (lock.packages?.[""]) lock.packages[""].version = version;
    writeFileSync(lockFile, `${JSON.stringify(lock, null, 2)}\n`);
  }
}

function checkDist(root) {
  const result = spawnSync("npm", ["run", "--silent", "check-dist"], { cwd: root, encoding: "utf8" });
  if (result.status !== 0) {
    throw new ReleaseError(
      `the bundles are not current (npm run check-dist): ${`${result.stdout}${result.stderr}`.trim().split("\n").slice(-5).join(" | ")}`,
    );
  }
}

/** Prepares release `version` in the repository at `root`; returns what it did. */
export function prepare(
  root,
  versionText,
  { date = new Date().toISOString().slice(0, 10), dryRun = false } = {},
) {
  const version = parseVersion(versionText);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new ReleaseError(`--date "${date}": expected YYYY-MM-DD`);
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const previous = lastRelease(root);
  const floor = previous ? previous.slice(1) : pkg.version;
  if (previous ? compare(version, floor) <= 0 : compare(version, floor) < 0) {
    throw new ReleaseError(
      `v${version} is not after ${previous ? `the last release ${previous}` : `the current version ${floor}`}`,
    );
  }
  const dirty = git(root, "status", "--porcelain", "--untracked-files=no");
  if (dirty) throw new ReleaseError(`the working tree has uncommitted changes:\n${dirty}`);
  const tag = `v${version}`;
  const major = `v${version.split(".")[0]}`;
  if (git(root, "tag", "--list", tag)) throw new ReleaseError(`tag ${tag} already exists`);
  const changes = changesSince(root, previous);
  if (dryRun) {
    return { tag, major, previous, notes: `## ${tag} (${date})\n\n${changes.join("\n")}`, committed: false };
  }
  checkDist(root);
  const notes = writeChangelog(root, version, date, changes);
  setVersion(root, version);
  const files = [
    "CHANGELOG.md",
    "package.json",
    ...(existsSync(join(root, "package-lock.json")) ? ["package-lock.json"] : []),
  ];
  git(root, "add", ...files);
  git(root, "commit", "--quiet", "-m", `Release ${tag}`);
  git(
    root,
    "tag",
    "--annotate",
    tag,
    "--cleanup=verbatim",
    "-m",
    `${tag}\n\n${notes.split("\n").slice(2).join("\n")}`,
  );
  git(
    root,
    "tag",
    "--force",
    "--annotate",
    major,
    "-m",
    `${major}: latest release ${tag}`,
    `${tag}^{commit}`,
  );
  return { tag, major, previous, notes, committed: true };
}

/** Checks that `tagText` is a release of the checked-out commit; returns the version. */
export function verify(root, tagText) {
  const version = parseVersion(tagText);
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  if (pkg.version !== version) {
    throw new ReleaseError(`tag v${version} does not match package.json's version ${pkg.version}`);
  }
  const changelog = existsSync(join(root, "CHANGELOG.md"))
    ? readFileSync(join(root, "CHANGELOG.md"), "utf8")
    : "";
  if (!changelogSection(changelog, version))
    throw new ReleaseError(`CHANGELOG.md has no section for v${version}`);
  if (git(root, "tag", "--list", `v${version}`)) {
    const tagged = git(root, "rev-parse", `v${version}^{commit}`);
    const head = git(root, "rev-parse", "HEAD");
    if (tagged !== head)
      throw new ReleaseError(`tag v${version} is ${tagged.slice(0, 12)}, not HEAD ${head.slice(0, 12)}`);
  }
  return version;
}

/** The release notes of `tagText` from CHANGELOG.md, without the heading. */
export function notes(root, tagText) {
  const version = parseVersion(tagText);
  const section = changelogSection(readFileSync(join(root, "CHANGELOG.md"), "utf8"), version);
  if (!section) throw new ReleaseError(`CHANGELOG.md has no section for v${version}`);
  return section.split("\n").slice(1).join("\n").trim();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = process.cwd();
  const [command, value, ...rest] = process.argv.slice(2);
  const flag = (name) => {
    const index = rest.indexOf(name);
    return index < 0 ? undefined : (rest[index + 1] ?? "");
  };
  try {
    if (command === "prepare") {
      const result = prepare(root, value, {
        ...(flag("--date") !== undefined ? { date: flag("--date") } : {}),
        dryRun: rest.includes("--dry-run"),
      });
      console.log(result.notes);
      if (result.committed) {
        console.log(
          `\nCommitted "Release ${result.tag}", tagged ${result.tag} and moved ${result.major} to it. Publish with:\n` +
            `  git push origin HEAD ${result.tag} && git push --force origin ${result.major}`,
        );
      } else {
        console.log("\n(dry run: nothing was changed)");
      }
    } else if (command === "notes") {
      console.log(notes(root, value));
    } else if (command === "verify") {
      console.log(`v${verify(root, value)} is ready to publish`);
    } else {
      console.error(
        "usage: node scripts/release.mjs prepare <X.Y.Z> [--date YYYY-MM-DD] [--dry-run] | notes <vX.Y.Z> | verify <vX.Y.Z>",
      );
      process.exit(2);
    }
  } catch (error) {
    if (!(error instanceof ReleaseError)) throw error;
    console.error(`release: ${error.message}`);
    process.exit(1);
  }
}
