/**
 * paramiko 2.12 against us, both ways (the suite is in interop_suite.ts). paramiko
 * implements neither chacha20-poly1305 nor AES-GCM, so its defaults meet ours at
 * aes128-ctr; its MAC list still includes hmac-md5 and the -96 MACs.
 */
import { peerAlgorithms } from "./interop_peers.ts";
import { peerSuite } from "./interop_suite.ts";

peerSuite("paramiko", {
  algorithms: () => peerAlgorithms("paramiko"),
  name: "paramiko",
  defaultKex: {
    ourClient: "curve25519-sha256@libssh.org",
    ourServer: "curve25519-sha256@libssh.org",
  },
  // paramiko's server picks a full-size DH exponent in pure Python: its group
  // exchange (8192-bit, as our client asks) takes tens of seconds. Its client runs
  // both against listen(); OpenSSH's sshd runs them against connect().
  slowServer: true,
  rsaSha512Only: {
    why: "paramiko 2.12 sends server-sig-algs only when ext-info-c is the last name of " +
      "the client's kex list; ours, like OpenSSH's, ends with the strict-kex marker",
    // Without strict kex our list ends with ext-info-c, and paramiko announces.
    workaround: { strictKex: false },
  },
  noSftpServer:
    "paramiko has no SFTP server of its own: its SFTPServer needs an SFTPServerInterface written against a file system, which this driver does not carry",
  notForOurClient: [
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group-exchange-sha1",
  ],
});
