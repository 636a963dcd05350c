/**
 * paramiko 2.12 against us, both ways (the suite is in interop_python.ts). paramiko
 * implements neither chacha20-poly1305 nor AES-GCM, so its defaults meet ours at
 * aes128-ctr; its MAC list still includes hmac-md5 and the -96 MACs.
 */
import { pythonPeerSuite } from "./interop_python.ts";

pythonPeerSuite("paramiko", {
  name: "paramiko",
  defaultKex: {
    ourClient: "curve25519-sha256@libssh.org",
    ourServer: "curve25519-sha256@libssh.org",
  },
  // paramiko's server picks a full-size DH exponent in pure Python: its group
  // exchange (8192-bit, as our client asks) takes tens of seconds. Its client runs
  // both against listen(); OpenSSH's sshd runs them against connect().
  extInfoMustBeLast: true,
  slowForOurClient: [
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group-exchange-sha1",
  ],
});
