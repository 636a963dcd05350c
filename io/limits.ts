/**
 * The limits and timings of `io/`, in one place, each with the reason for its
 * value: buffer sizes bound memory per socket, channel or session; length caps
 * bound what a peer can make us hold; grace periods bound how long a closing
 * connection keeps its socket.
 *
 * @module
 */

// ---- sockets ----

/** Bytes queued for writing before a socket adapter reports itself full (then the driver waits). */
export const SOCKET_WRITE_HIGH_WATER = 1024 * 1024;

/**
 * Deno adapter read buffer at its largest: large reads mean fewer engine calls per MB. A read
 * that fills the buffer makes the next one bigger, up to this.
 */
export const DENO_READ_SIZE = 256 * 1024;

/**
 * Deno adapter read buffer at its smallest, and where it starts: a pending `conn.read()` holds
 * its buffer while the connection idles, so an idle connection holds only this much (a
 * handshake's packets and interactive traffic fit in it).
 */
export const DENO_READ_MIN_SIZE = 512;

/** Writes smaller than this are merged into one buffer before reaching the socket. */
export const WRITE_COALESCE_LIMIT = 64 * 1024;

/** Socket bytes queued toward a channel before a forwarding bridge stops reading the socket. */
export const BRIDGE_READ_HIGH_WATER = 1024 * 1024;

// ---- connection life cycle ----

/**
 * connect()'s default `connectTimeout`: 30 s for the TCP connect, the handshake and
 * authentication together. OpenSSH waits for the system's TCP timeout (minutes)
 * and AsyncSSH's login timeout is 2 minutes; 30 s is well past what a handshake and
 * login take on any working link (under a second on a LAN, a few seconds over slow
 * WAN links or a busy server), yet a silent or black-holed host fails in the time a
 * user still waits for. Pass `connectTimeout: 0` to wait without limit.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/** How long a socket may take to close after the SSH connection ended before we cut it. */
export const SOCKET_CLOSE_GRACE_MS = 2000;

/**
 * How long a cut SCP transfer waits for the remote `scp` to end after our EOF (it removes or
 * keeps its partial file meanwhile) before the channel is closed from our side: a remote
 * stuck on its disk must not hold the caller forever.
 */
export const SCP_CUT_GRACE_MS = 10_000;

/**
 * How long a session's answer to the client's CLOSE waits for its process to exit (and
 * send its exit status first, as sshd does, which holds it for as long as the command
 * runs): OpenSSH's ControlMaster closes a session once both sides sent EOF, and reports
 * one closed without a status as lost. Bounded, so that a process that does not end
 * still learns (its channel's `closed`) that the client is gone.
 */
export const SESSION_CLOSE_GRACE_MS = 2000;

/** How long a connect that failed waits for its DISCONNECT (saying why) to reach the server. */
export const FAILED_CONNECT_GRACE_MS = 250;

/** A SOCKS client that has not finished its handshake by then is dropped. */
export const SOCKS_HANDSHAKE_TIMEOUT_MS = 30_000;

// ---- what a peer can make us hold ----

/** Longest host or address string read from a peer (DNS names stop at 253). */
export const MAX_ADDRESS_LENGTH = 1024;

/** Longest UNIX socket path read from a peer (Linux PATH_MAX is 4096). */
export const MAX_SOCKET_PATH_LENGTH = 4096;

/** Longest SOCKS user id or host name we accept (SOCKS 5 caps names at 255 too). */
export const MAX_SOCKS_FIELD = 255;

/** Most variables one session may set (a client could otherwise grow the table without bound). */
export const MAX_SESSION_ENV = 256;

/**
 * Bytes of names and values the env requests of one session may hold (OpenSSH
 * counts variables only, but keeps them in a process of the client's own; here
 * one server process holds every session's).
 */
export const MAX_SESSION_ENV_BYTES = 64 * 1024;

// ---- sessions ----

/** X11 displays one connection may hold at once: each is a listening port (sshd's MaxSessions is 10). */
export const MAX_X11_DISPLAYS_PER_CONNECTION = 10;

/**
 * Remote forwards (`ssh -R` listeners: tcpip-forward, streamlocal-forward) one connection may
 * hold at once unless `listen({ maxRemoteForwards })` says otherwise: each is a listening
 * socket, a descriptor and a port of the one server process all users share, and a client
 * could otherwise ask for as many as the hook grants (sshd has no cap but its descriptors).
 */
export const DEFAULT_MAX_REMOTE_FORWARDS = 64;

/** Longest X11 cookie accepted in x11-req (MIT-MAGIC-COOKIE-1 is 16 bytes; xauth's cap is far below). */
export const MAX_X11_COOKIE_BYTES = 256;

/** Highest X screen number: an X server's set-up reply counts its screens in one byte. */
export const MAX_X11_SCREEN = 255;

/**
 * Bytes of SFTP replies a session queues for a client that does not take them (its window
 * is shut) before the server stops answering requests: without it, a client that never reads
 * grows the server's memory without bound, 4 KiB of reply per 15-byte request.
 */
export const SFTP_REPLY_BUFFER_HIGH = 1024 * 1024;

/** Queued SFTP reply bytes at which a session held by {@link SFTP_REPLY_BUFFER_HIGH} answers again. */
export const SFTP_REPLY_BUFFER_LOW = 256 * 1024;

/**
 * SFTP and scp sessions one connection may run at once unless `listen({ maxFileSessions })`
 * says otherwise (sshd's MaxSessions is 10): a connection may open 1024 channels, and each
 * session holds buffers and files.
 */
export const DEFAULT_MAX_FILE_SESSIONS = 10;

/**
 * Session channels one connection may have open at once unless `listen({ maxSessions })`
 * says otherwise: sshd's MaxSessions default. Each holds a receive window, environment,
 * possibly an agent socket, until it closes.
 */
export const DEFAULT_MAX_SESSIONS = 10;

/**
 * Files one connection's SFTP sessions may hold open together unless
 * `listen({ maxOpenFilesPerConnection })` says otherwise: every session of every connection
 * shares the process's descriptors (often 1024), so one session's cap (256) times many
 * sessions would let one client take them all.
 */
export const DEFAULT_MAX_OPEN_FILES_PER_CONNECTION = 256;

/** Bytes read at a time from a file or stream redirected into a process. */
export const REDIRECT_READ_SIZE = 64 * 1024;

/**
 * Bytes (or text units) a StreamReader buffers while looking for a separator
 * (asyncio's StreamReader default): a peer that never sends one cannot grow it further.
 */
export const DEFAULT_READ_LIMIT = 64 * 1024;

/** Events a server process queues for a reader of `events` that is not reading (then new ones are dropped). */
export const MAX_PENDING_PROCESS_EVENTS = 1024;

/** Bytes of edited input buffered for a reader that is not reading (then echo waits too). */
export const LINE_EDITOR_BUFFER = 64 * 1024;

/** Lines a line editor keeps for history recall, unless told otherwise. */
export const DEFAULT_LINE_HISTORY = 1000;

/** Longest line a line editor accepts unless told otherwise (further keys ring the bell). */
export const DEFAULT_MAX_LINE_LENGTH = 1024;

/** Terminal width when the client sent none. */
export const DEFAULT_TERMINAL_COLUMNS = 80;
