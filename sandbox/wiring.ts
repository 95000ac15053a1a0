/**
 * In-process interfaces between sandbox services: what EventBridge needs from
 * Lambda to deliver a target, and what Lambda and EventBridge need from SQS to
 * dead-letter what still failed. Each side is tested against a small fake of
 * the other; startSandbox wires the real ones together.
 */

/** What EventBridge needs from Lambda to deliver a target (async "Event" invocation, as EventBridge does). */
export interface AsyncInvoker {
  /** Queues an async invocation; throws ServiceError ResourceNotFoundException (404) for an unknown function ARN,
   * TooManyRequestsException when throttled. Resolves once Lambda has accepted the event (not when it ran). */
  invokeAsync(functionArn: string, payload: string): Promise<{ requestId: string }>;
}

/** What Lambda and EventBridge need from SQS to dead-letter what still failed. */
export interface DeadLetterSink {
  /** Sends one message to the queue with this ARN; throws ServiceError for an unknown queue. */
  sendToQueue(queueArn: string, body: string, attributes?: Record<string, string>): void;
}
