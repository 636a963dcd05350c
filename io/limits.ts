/**
 * The limits and timings of `io/`, each with the reason for its value. Buffer
 * sizes bound memory per connection or channel; grace periods bound how long a
 * closing connection may hold its socket.
 *
 * @module
 */

/** How long a socket may take to close after the SSH connection ended before we cut it. */
export const SOCKET_CLOSE_GRACE_MS = 2000;

/** How long a connect that failed waits for its DISCONNECT (saying why) to reach the server. */
export const FAILED_CONNECT_GRACE_MS = 250;
