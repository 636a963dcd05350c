/**
 * The order of SSH_FXP_SYMLINK's two paths, which depends on who is talking.
 *
 * The SFTP draft (filexfer-02) sends the link's own path first, then its target.
 * OpenSSH swapped them by mistake long ago and keeps its order for compatibility
 * (PROTOCOL §4.1): target first. Every peer that talks to OpenSSH follows its order;
 * this library sends and reads it too. Two widely used libraries pick the order by the
 * other side's identification line instead: AsyncSSH uses OpenSSH's order only with a
 * peer whose version names "OpenSSH" or "paramiko", and the `ssh2` npm package only
 * with one whose version starts "OpenSSH" or "dropbear". Talking to us, both use the
 * draft's order, so the paths we read or send are swapped unless we pick the order they
 * pick: {@link symlinkOrder} does.
 *
 * @module
 */

/** Which path comes first in SSH_FXP_SYMLINK: OpenSSH's target-first, or the draft's link-first. */
export type SymlinkOrder = "openssh" | "draft";

/**
 * The order to send and read SSH_FXP_SYMLINK in with a peer: the draft's when the peer is
 * AsyncSSH or the `ssh2` package and our own identification line is not one of those
 * they treat as OpenSSH's, else OpenSSH's (which every other implementation uses).
 * Both arguments are identification lines ("SSH-2.0-…"); an unknown peer gets OpenSSH's.
 *
 * @example
 * ```ts
 * import { symlinkOrder } from "./symlink_order.ts";
 * console.log(symlinkOrder("SSH-2.0-AsyncSSH_2.13.1", "SSH-2.0-sshts_0.1")); // "draft"
 * console.log(symlinkOrder("SSH-2.0-OpenSSH_9.2p1", "SSH-2.0-sshts_0.1")); // "openssh"
 * ```
 */
export function symlinkOrder(peerVersion: string | undefined, ownVersion: string): SymlinkOrder {
  const peer = softwareOf(peerVersion ?? "");
  // AsyncSSH: `any(name in version for name in ('OpenSSH', 'paramiko'))` on the whole line.
  if (peer.startsWith("AsyncSSH_")) {
    return /OpenSSH|paramiko/.test(ownVersion) ? "openssh" : "draft";
  }
  // ssh2: /^SSH-2.0-(?:OpenSSH|dropbear)/ on the identification line.
  if (peer.startsWith("ssh2js")) {
    return /^SSH-2\.0-(?:OpenSSH|dropbear)/.test(ownVersion) ? "openssh" : "draft";
  }
  return "openssh";
}

/** The software-version part of an identification line ("SSH-2.0-<this> comments"). */
function softwareOf(line: string): string {
  const m = /^SSH-[^-]*-(.*)$/.exec(line);
  return m ? m[1]! : "";
}
