/**
 * A client whose every call carries an abort signal, for the SDK's waiters: they
 * stop polling when their own abortSignal fires but leave the call in flight (and
 * its retries while throttled) running, which keeps a bounded wait's process alive
 * past its bound.
 */

/** Wraps `client` so that `send(command)` is `send(command, { abortSignal: signal })`. */
export function abortableClient<C extends { send: (...args: never[]) => unknown }>(
  client: C,
  signal: AbortSignal,
): C {
  const send = client.send.bind(client) as unknown as (command: unknown, options?: object) => unknown;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "send") return (command: unknown) => send(command, { abortSignal: signal });
      return Reflect.get(target, property, receiver);
    },
  });
}
