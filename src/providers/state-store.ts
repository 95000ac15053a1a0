/**
 * The state store: where the status files live and how a change to one is
 * committed. One implementation per file; {@link createStateStore} picks one
 * by kind and refuses kinds it does not know.
 */
import type { MigrationStatus } from "../model/status.js";
import { GitStateStore, type GitStateStoreOptions } from "./git-state-store.js";

/**
 * The store refused the status write by a rule of its own (for git: a
 * ruleset or branch protection on the state branch), not because another
 * writer came first: retrying cannot help; someone must change the rule or
 * where the status is kept. Nothing was written.
 */
export class StatusWriteRefusedError extends Error {
  constructor(
    /** The rules the store named, e.g. "Changes must be made through a pull request." */
    readonly rules: string[],
    message: string,
  ) {
    super(message);
    this.name = "StatusWriteRefusedError";
  }
}

/** A migration's status as recorded, with where it was read from. */
export interface RecordedStatus {
  status: MigrationStatus;
  /** False when no status file was recorded yet (the status is the initial one). */
  exists: boolean;
  /** The store's revision the status was read at (a commit SHA for git); undefined when the store is empty. */
  revision?: string;
}

/** What a commit message says about a status change. */
export interface StatusChangeFacts {
  /** State-machine event(s) applied, e.g. "shifted" or "reconciled". */
  event: string;
  /** One line for people, e.g. "10 % on the new side, baking for 48h". */
  summary: string;
  runUrl?: string;
}

/**
 * Computes the next status from the latest recorded one. Returns undefined
 * when there is nothing to record. Called again with the newer status when
 * another writer got there first, so it must be a pure function of its input.
 */
export type StatusChange = (
  current: RecordedStatus,
) => { status: MigrationStatus; facts: StatusChangeFacts } | undefined;

/** The outcome of an update. */
export interface StatusUpdate {
  status: MigrationStatus;
  /** False when the change found nothing to record. */
  committed: boolean;
  /** Revision after the update (the new commit, or the one read when nothing changed). */
  revision?: string;
  /** How many times the change was applied (more than 1 after a concurrent writer). */
  attempts: number;
  facts?: StatusChangeFacts;
}

/** Reads and records migrations' status files. */
export interface StateStore {
  readonly kind: StateStoreKind;
  /** Where statuses are recorded, for messages ("branch cutover-state of origin"). */
  readonly location: string;
  /** The latest recorded status of a migration (the initial status when none was recorded). */
  read(migrationId: string): Promise<RecordedStatus>;
  /**
   * Applies `change` to the latest recorded status and records the result.
   * When another writer recorded first, re-reads and re-applies `change`
   * (never overwrites blindly), a bounded number of times.
   */
  update(migrationId: string, change: StatusChange): Promise<StatusUpdate>;
}

export type StateStoreKind = "git";

export interface StateStoreOptions {
  git?: GitStateStoreOptions;
}

const STORE_FACTORIES: Record<StateStoreKind, (options: StateStoreOptions) => StateStore> = {
  git: (options) => {
    if (!options.git) throw new Error("the git state store needs its options (workspace, branch, spec path)");
    return new GitStateStore(options.git);
  },
};

/** Creates the store of the given kind; an unknown kind is an error naming the kinds that exist. */
export function createStateStore(kind: string, options: StateStoreOptions): StateStore {
  if (!Object.hasOwn(STORE_FACTORIES, kind)) {
    throw new Error(
      `state store "${kind}" is not known; known kinds: ${Object.keys(STORE_FACTORIES).join(", ")}`,
    );
  }
  return STORE_FACTORIES[kind as StateStoreKind](options);
}

/** Serialises a status exactly as status files are written: two-space JSON and a final newline. */
export function serialiseStatus(status: MigrationStatus): string {
  return `${JSON.stringify(status, null, 2)}\n`;
}
