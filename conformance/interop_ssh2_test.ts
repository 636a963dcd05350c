/**
 * The `ssh2` npm package (1.x, a devDependency) against us, both ways (the suite
 * is in interop_suite.ts). Its driver (peers/ssh2_peer.mjs) always runs on Node 24,
 * whatever runtime runs the tests. ssh2 has no rekey-by-bytes setting; its
 * `rekey()` starts one on request, so its rekey tests expect one rekey each way.
 */
import { ssh2Algorithms } from "./interop_peers.ts";
import { peerSuite } from "./interop_suite.ts";

peerSuite("ssh2", {
  algorithms: ssh2Algorithms,
  name: "ssh2",
  defaultKex: { ourClient: "curve25519-sha256", ourServer: "curve25519-sha256@libssh.org" },
  rekeyOnce: true,
  rsaSha512Only: {
    why: "ssh2's server-sig-algs is a fixed list missing a comma " +
      '("...ecdsa-sha2-nistp521rsa-sha2-512,rsa-sha2-256,..."), so rsa-sha2-256 is the ' +
      "first RSA name a client can read in it",
  },
  // ssh2's server does not implement group exchange ("Group exchange not implemented
  // for server"); its client runs both against listen().
  noSftpServer:
    "ssh2's SFTP server is a protocol stream the application answers request by request; this driver does not implement one",
  notForOurClient: ["diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1"],
});
