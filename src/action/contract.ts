/**
 * The contract of an action: its inputs and outputs in one named map. Every
 * action's `action.yml` is checked against its contract by a test, so the two
 * cannot drift apart.
 */

export interface InputContract {
  description: string;
  required?: boolean;
  /** Default as written in action.yml (always a string there). */
  default?: string;
}

export interface OutputContract {
  description: string;
}

export interface ActionContract<I extends string = string, O extends string = string> {
  /** Folder name under `actions/`. */
  name: string;
  description: string;
  inputs: Record<I, InputContract>;
  outputs: Record<O, OutputContract>;
}

/** Declares a contract with its input and output names kept as literal types. */
export function defineContract<I extends string, O extends string>(
  contract: ActionContract<I, O>,
): ActionContract<I, O> {
  return contract;
}
