/**
 * SFTP wire constants (draft-ietf-secsh-filexfer-02, protocol version 3, and
 * OpenSSH's PROTOCOL §4) and the length caps both engines enforce.
 *
 * @module
 */

/** The protocol version both engines speak. */
export const SFTP_VERSION = 3;

/** SSH_FXP_* packet types. */
export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

/**
 * SSH_FX_* status codes. Version 3 defines 0–8; the later codes (from
 * draft-ietf-secsh-filexfer-13) are listed because some servers send them and
 * `copy-data` uses INVALID_PARAMETER.
 *
 * @example Match an error's status
 * ```ts
 * import { SFTPStatus } from "@sshts/ssh";
 * console.log(SFTPStatus.NO_SUCH_FILE); // 2
 * ```
 */
export const SFTPStatus = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
  INVALID_HANDLE: 9,
  NO_SUCH_PATH: 10,
  FILE_ALREADY_EXISTS: 11,
  WRITE_PROTECT: 12,
  NO_MEDIA: 13,
  NO_SPACE_ON_FILESYSTEM: 14,
  QUOTA_EXCEEDED: 15,
  UNKNOWN_PRINCIPAL: 16,
  LOCK_CONFLICT: 17,
  DIR_NOT_EMPTY: 18,
  NOT_A_DIRECTORY: 19,
  INVALID_FILENAME: 20,
  LINK_LOOP: 21,
  CANNOT_DELETE: 22,
  INVALID_PARAMETER: 23,
  FILE_IS_A_DIRECTORY: 24,
} as const;

/** A numeric SSH_FX_* status code. */
export type SFTPStatusCode = number;

/** Readable names of the status codes, for messages. */
export const STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(SFTPStatus).map(([k, v]) => [v, k]),
);

/** The default message for a status code when the peer sent none (as OpenSSH's sftp-server). */
export const STATUS_MESSAGES: Readonly<Record<number, string>> = {
  0: "Success",
  1: "End of file",
  2: "No such file",
  3: "Permission denied",
  4: "Failure",
  5: "Bad message",
  6: "No connection",
  7: "Connection lost",
  8: "Operation unsupported",
};

/**
 * SSH_FXF_* open flags.
 *
 * @example Open for writing, creating and truncating
 * ```ts
 * import { OpenFlags } from "@sshts/ssh";
 * const flags = OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC;
 * console.log(flags); // 26
 * ```
 */
export const OpenFlags = {
  READ: 0x01,
  WRITE: 0x02,
  APPEND: 0x04,
  CREAT: 0x08,
  TRUNC: 0x10,
  EXCL: 0x20,
} as const;

/** SSH_FILEXFER_ATTR_* flags. */
export const ATTR = {
  SIZE: 0x00000001,
  UIDGID: 0x00000002,
  PERMISSIONS: 0x00000004,
  ACMODTIME: 0x00000008,
  EXTENDED: 0x80000000,
} as const;

/** POSIX file type bits in `permissions` (st_mode). */
export const S_IFMT = 0o170000;
/** Directory. */
export const S_IFDIR = 0o040000;
/** Regular file. */
export const S_IFREG = 0o100000;
/** Symbolic link. */
export const S_IFLNK = 0o120000;
/** Character device. */
export const S_IFCHR = 0o020000;
/** Block device. */
export const S_IFBLK = 0o060000;
/** FIFO. */
export const S_IFIFO = 0o010000;
/** Socket. */
export const S_IFSOCK = 0o140000;

/** statvfs f_flag: read-only file system. */
export const ST_RDONLY = 0x1;
/** statvfs f_flag: setuid bits ignored. */
export const ST_NOSUID = 0x2;

/** Extension names as on the wire (OpenSSH PROTOCOL §4 and filexfer-extensions-00). */
export const Ext = {
  POSIX_RENAME: "posix-rename@openssh.com",
  STATVFS: "statvfs@openssh.com",
  FSTATVFS: "fstatvfs@openssh.com",
  HARDLINK: "hardlink@openssh.com",
  FSYNC: "fsync@openssh.com",
  LSETSTAT: "lsetstat@openssh.com",
  LIMITS: "limits@openssh.com",
  EXPAND_PATH: "expand-path@openssh.com",
  COPY_DATA: "copy-data",
  HOME_DIRECTORY: "home-directory",
  USERS_GROUPS_BY_ID: "users-groups-by-id@openssh.com",
} as const;

/** The version string each extension is announced with (as OpenSSH's sftp-server). */
export const EXTENSION_VERSIONS: Readonly<Record<string, string>> = {
  [Ext.POSIX_RENAME]: "1",
  [Ext.STATVFS]: "2",
  [Ext.FSTATVFS]: "2",
  [Ext.HARDLINK]: "1",
  [Ext.FSYNC]: "1",
  [Ext.LSETSTAT]: "1",
  [Ext.LIMITS]: "1",
  [Ext.EXPAND_PATH]: "1",
  [Ext.COPY_DATA]: "1",
  [Ext.HOME_DIRECTORY]: "1",
  [Ext.USERS_GROUPS_BY_ID]: "1",
};

// ---- length caps (each with the reason for its size) ----

/** Largest packet our server accepts and announces: OpenSSH's sftp-server limit, so clients size requests the same. */
export const SERVER_MAX_PACKET = 256 * 1024;
/** Largest READ our server answers in one DATA reply: the packet limit less room for headers (OpenSSH's figure). */
export const SERVER_MAX_READ = SERVER_MAX_PACKET - 1024;
/** Largest WRITE payload our server accepts (OpenSSH's figure). */
export const SERVER_MAX_WRITE = SERVER_MAX_PACKET - 1024;
/** Handles one client may hold open on our server: bounds the backend resources a peer can pin. */
export const SERVER_MAX_HANDLES = 256;
/**
 * Largest packet our client accepts: OpenSSH's client takes 256 KiB; four times that leaves room
 * for servers that batch large directory listings while bounding what one reply can make us hold.
 */
export const CLIENT_MAX_PACKET = 1024 * 1024;
/** Largest read or write request our client sends: 256 KiB - 1 KiB, as OpenSSH's sftp. */
export const CLIENT_MAX_REQUEST = 256 * 1024 - 1024;
/** Request size when the server announces no limits: 32 KiB, which every server accepts (draft-02 §6.4). */
export const CLIENT_DEFAULT_REQUEST = 32 * 1024;
/** Longest path, name or extension string either engine accepts: far above PATH_MAX (4096). */
export const MAX_PATH_LENGTH = 64 * 1024;
/** Longest handle string: the draft caps handles at 256 bytes. */
export const MAX_HANDLE_LENGTH = 256;
/** Most extension pairs in INIT or VERSION: OpenSSH sends 11; a peer sending thousands is hostile. */
export const MAX_EXTENSIONS = 256;
/** Most extended attribute pairs in one ATTRS: bounds the objects one ATTRS can make us build. */
export const MAX_EXTENDED_ATTRS = 1024;
/** Most ids in one users-groups-by-id request: the server answers with one name each. */
export const MAX_ID_LOOKUPS = 4096;
/** Requests our server holds parsed but not yet answered before it stops reading input. */
export const SERVER_MAX_BACKLOG = 128;
