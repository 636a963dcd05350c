/**
 * Every limit `core/` puts on what a peer may send, and the defaults of its buffers
 * and windows, in one place, each with the reason for its value. Parsers read these
 * names instead of literals, so a limit is changed (and reviewed) here.
 *
 * Formats with their own fixed sizes (key lengths, curve points, moduli bounds) keep
 * their constants beside the code that knows the format.
 *
 * @module
 */

// ---- names and text in messages ----

/** Service, method, curve and signal names: RFC 4251 §6 caps names at 64 characters. */
export const MAX_SHORT_NAME = 64;
/** Algorithm names, key types, language tags, request and channel types: 64 (RFC 4251 §6) plus room for vendor suffixes. */
export const MAX_NAME = 256;
/** A whole name-list (KEXINIT, server-sig-algs): OpenSSH's longest lists are ~1.5 KiB; 64 KiB bounds any. */
export const MAX_NAME_LIST_LENGTH = 64 * 1024;
/** User names, passwords, host names, variable names, X11 cookies: typed or short identifiers. */
export const MAX_SHORT_TEXT = 1024;
/** Banners, prompts, DEBUG and DISCONNECT text, environment values: far beyond a real banner, still bounded. */
export const MAX_TEXT = 64 * 1024;

// ---- keys, signatures, numbers ----

/** A public key or certificate blob: a 16384-bit RSA key is ~2 KiB, certificates with extensions stay far below 16 KiB. */
export const MAX_KEY_BLOB = 16 * 1024;
/** A signature blob: a 16384-bit RSA signature is ~2 KiB. */
export const MAX_SIGNATURE = 16 * 1024;
/** An mpint: a 16384-bit DH or RSA value is 2 KiB; nothing legitimate comes near 16 KiB. */
export const MAX_MPINT = 16 * 1024;
/** An EC point or Ed25519 key: at most 133 bytes (uncompressed P-521); 1 KiB bounds any curve. */
export const MAX_PUBLIC_POINT = 1024;
/** A host key blob K_S in a kex reply: a certificate with many principals and extensions stays far below. */
export const MAX_HOST_KEY_BLOB_LENGTH = 64 * 1024;
/** A signature blob in a kex reply: a 16384-bit RSA signature is ~2 KiB. */
export const MAX_KEX_SIGNATURE_LENGTH = 16 * 1024;
/** An OpenSSH certificate's nonce: OpenSSH writes 32 bytes. */
export const MAX_CERT_NONCE = 1024;
/** A security key's application string: OpenSSH has no limit; a relying-party id is short. */
export const MAX_SK_APPLICATION_LENGTH = 1024;
/** Most certificates in an X.509 chain: a chain deeper than this is abuse. */
export const MAX_X509_CHAIN = 16;
/** One DER certificate of an X.509 chain: real ones are 1-4 KiB. */
export const MAX_X509_CERT_BYTES = 64 * 1024;

// ---- transport ----

/** Largest packet_length accepted: RFC 4253 asks for 35,000; OpenSSH accepts 256 KiB, which SFTP implementations use. */
export const MAX_PACKET_LENGTH = 256 * 1024;
/** Largest payload after decompression (OpenSSH's limit too). */
export const MAX_PAYLOAD_LENGTH = 256 * 1024;
/**
 * Initial receive buffer: small, so idle connections stay cheap (a handshake's packets fit in
 * 2 KiB); it doubles to fit the largest packet seen.
 */
export const INITIAL_RECEIVE_BUFFER = 2 * 1024;
/** Most extensions in one EXT_INFO: RFC 8308 defines a handful; 1024 bounds a hostile list. */
export const MAX_EXT_INFO_EXTENSIONS = 1024;
/** Bytes our layers may queue while a key exchange holds sending back, before we give up. */
export const MAX_DEFERRED_BYTES = 64 * 1024 * 1024;

/**
 * Channel data the application may hand over while a key exchange holds sending back
 * (`writableBytes` says 0 past it, until the exchange ends): twice the 2 MiB window sshd
 * grants a session, so what a writer gets out of the way during a rekey goes out at once after
 * it; without it only the peer's window would bound it (PuTTY grants 2 GiB), and a fast writer
 * would reach MAX_DEFERRED_BYTES, which ends the connection.
 */
export const MAX_KEX_HELD_CHANNEL_DATA = 4 * 1024 * 1024;

/** What each message held during a key exchange counts against MAX_DEFERRED_BYTES besides its bytes. */
export const DEFERRED_MESSAGE_OVERHEAD = 256;

/**
 * Bytes of input buffered while no packet can be read (the host key waits for the
 * verifier): past two largest packets and their framing, the peer is flooding.
 */
export const MAX_HELD_INPUT = 2 * (4 + 256 * 1024 + 64);
/** Default byte limit before rekeying: 1 GiB (OpenSSH uses 1-4 GiB depending on the cipher). */
export const DEFAULT_REKEY_BYTES = 1024 * 1024 * 1024;
/** Default packet limit before rekeying: 2^31 (RFC 4344 §3.1 bound). */
export const DEFAULT_REKEY_PACKETS = 2 ** 31;
/** Longest identification line: RFC 4253 §4.2 allows 255 characters including CR LF. */
export const MAX_VERSION_LINE = 255;
/** Most lines a server may send before its identification line (RFC 4253 §4.2 allows some; OpenSSH accepts 1024). */
export const MAX_PRE_VERSION_LINES = 1024;
/** Most bytes before the identification line. */
export const MAX_PRE_VERSION_BYTES = 64 * 1024;

// ---- user authentication ----

/** Most keyboard-interactive prompts in one request: OpenSSH sends one or two; 100 bounds a hostile server. */
export const MAX_KBDINT_PROMPTS = 100;
/** Authentication requests a client may pipeline while one is being decided: OpenSSH's client sends one at a time. */
export const MAX_QUEUED_AUTH_REQUESTS = 8;
/**
 * Most USERAUTH_REQUESTs a client sends on one connection: a server answering each with a
 * partial success (or SUCCESS never) would otherwise have credentials sent until the connect
 * timeout. sshd gives up after 6 failures (MaxAuthTries); 64 leaves room for many keys.
 */
export const MAX_CLIENT_AUTH_REQUESTS = 64;
/** Most INFO_REQUEST rounds a client answers in one keyboard-interactive attempt: a PAM conversation takes a few. */
export const MAX_KBDINT_ROUNDS = 16;
/** Most PASSWD_CHANGEREQs a client answers in one password attempt (a server may ask again for a better password). */
export const MAX_PASSWORD_CHANGES = 8;

// ---- connection protocol ----

/** Default window we grant per channel: 2 MiB, as OpenSSH's session channels. */
export const DEFAULT_WINDOW = 2 * 1024 * 1024;
/** Default largest data packet we accept: 32 KiB, as OpenSSH. */
export const DEFAULT_MAX_PACKET = 32 * 1024;
/**
 * Largest data packet a channel may advertise: what still fits in a packet we accept
 * ({@link MAX_PACKET_LENGTH}) with the extended-data header (13 bytes), the padding-length
 * byte and the most padding a peer may add (255). A peer sends data as large as advertised
 * (sshd does): a channel that asked for 256 KiB would have its connection dropped for a
 * packet of 262,160 bytes.
 */
export const MAX_CHANNEL_PACKET = MAX_PACKET_LENGTH - 13 - 1 - 255;
/** Default limit of channels open at once, per connection. */
export const DEFAULT_MAX_CHANNELS = 1024;
/** Largest window the protocol allows (a uint32). */
export const MAX_WINDOW = 0xffffffff;
/** Most outstanding want-reply requests per channel or connection before we refuse more. */
export const MAX_PENDING_REQUESTS = 256;
/** Largest global request data handed to the application (hostkeys-00 with 64 keys of 1 KiB fits easily). */
export const MAX_GLOBAL_REQUEST_DATA = 64 * 1024;
/** Encoded terminal modes of a pty-req: RFC 4254 §8 opcodes take 5 bytes each, fewer than 160 exist. */
export const MAX_TERMINAL_MODES = 4096;
/** A string argument of a session request (exec command, subsystem): up to the largest payload. */
export const MAX_REQUEST_ARGUMENT = 256 * 1024;
/** Most host keys in one hostkeys-00@openssh.com announcement (OpenSSH servers hold a handful). */
export const MAX_ANNOUNCED_HOST_KEYS = 64;
