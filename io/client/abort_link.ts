/**
 * The link between connect()'s `signal` and a connection once made: the option aborts the
 * connect, "and closes the connection once made" (ConnectOptions.signal). One helper for
 * every way connect() makes a connection (direct, or over an OpenSSH master).
 *
 * @module
 */

/**
 * Aborts `conn` when `signal` aborts, from now on; the listener goes when the connection
 * closes, so a long-lived signal (a whole program's) does not keep every closed connection.
 *
 * @example
 * ```ts ignore
 * abortWhenSignalled(conn, options.signal);
 * ```
 */
export function abortWhenSignalled(
  conn: { abort(): void; readonly closed: Promise<unknown> },
  signal: AbortSignal | undefined,
): void {
  if (!signal) return;
  if (signal.aborted) {
    conn.abort();
    return;
  }
  const abort = () => conn.abort();
  signal.addEventListener("abort", abort, { once: true });
  void conn.closed.then(() => signal.removeEventListener("abort", abort), () => {});
}
