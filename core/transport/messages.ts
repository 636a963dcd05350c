/**
 * SSH message numbers (RFC 4250 §4.1) as named constants.
 *
 * @module
 */

/** Message numbers by name. */
export const Msg = {
  DISCONNECT: 1,
  IGNORE: 2,
  UNIMPLEMENTED: 3,
  DEBUG: 4,
  SERVICE_REQUEST: 5,
  SERVICE_ACCEPT: 6,
  EXT_INFO: 7,
  NEWCOMPRESS: 8,
  KEXINIT: 20,
  NEWKEYS: 21,
  KEX_FIRST: 30,
  KEX_LAST: 49,
  USERAUTH_REQUEST: 50,
  USERAUTH_FAILURE: 51,
  USERAUTH_SUCCESS: 52,
  USERAUTH_BANNER: 53,
  /** 60 is PK_OK, PASSWD_CHANGEREQ or INFO_REQUEST depending on the method in use. */
  USERAUTH_60: 60,
  USERAUTH_INFO_RESPONSE: 61,
  GLOBAL_REQUEST: 80,
  REQUEST_SUCCESS: 81,
  REQUEST_FAILURE: 82,
  CHANNEL_OPEN: 90,
  CHANNEL_OPEN_CONFIRMATION: 91,
  CHANNEL_OPEN_FAILURE: 92,
  CHANNEL_WINDOW_ADJUST: 93,
  CHANNEL_DATA: 94,
  CHANNEL_EXTENDED_DATA: 95,
  CHANNEL_EOF: 96,
  CHANNEL_CLOSE: 97,
  CHANNEL_REQUEST: 98,
  CHANNEL_SUCCESS: 99,
  CHANNEL_FAILURE: 100,
} as const;

/** First and last message numbers of the user authentication protocol (RFC 4250 §4.1.2). */
export const AUTH_FIRST = 50;
/** Last user authentication message number. */
export const AUTH_LAST = 79;
/** First message number of the connection protocol (RFC 4250 §4.1.2). */
export const CONNECTION_FIRST = 80;
/** Last connection protocol message number. */
export const CONNECTION_LAST = 127;

/** Is `n` a transport-layer generic message (1..19)? */
export function isTransportGeneric(n: number): boolean {
  return n >= 1 && n <= 19;
}

/** Is `n` a key-exchange message (20..49)? */
export function isKexMessage(n: number): boolean {
  return n >= 20 && n <= 49;
}
