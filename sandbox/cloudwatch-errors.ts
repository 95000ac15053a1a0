/** CloudWatch errors in AWS's shape, shared by the operations of the sandbox's CloudWatch. */

/** A CloudWatch error in AWS's shape: the JSON `__type`, the query code and the HTTP status. */
export class CloudWatchError extends Error {
  constructor(
    readonly shape: string,
    readonly queryCode: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = shape;
  }
}

/** Builders for the errors CloudWatch answers with. */
export const cloudWatchErrors = {
  invalidValue: (message: string) =>
    new CloudWatchError("InvalidParameterValueException", "InvalidParameterValue", message),
  missing: (message: string) =>
    new CloudWatchError("MissingRequiredParameterException", "MissingParameter", message),
  combination: (message: string) =>
    new CloudWatchError("InvalidParameterCombinationException", "InvalidParameterCombination", message),
  validation: (message: string) => new CloudWatchError("ValidationException", "ValidationError", message),
  invalidNextToken: (message: string) => new CloudWatchError("InvalidNextToken", "InvalidNextToken", message),
};
