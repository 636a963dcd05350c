/**
 * AsyncSSH 2.10 against us, both ways (the suite is in interop_suite.ts). AsyncSSH
 * sends its KEXINIT ahead of the data that triggered a rekey, which we used to refuse
 * (#21): the rekey tests here run that order end to end.
 */
import { peerAlgorithms } from "./interop_peers.ts";
import { peerSuite } from "./interop_suite.ts";

peerSuite("asyncssh", {
  algorithms: () => peerAlgorithms("asyncssh"),
  name: "AsyncSSH",
  defaultKex: { ourClient: "curve25519-sha256", ourServer: "curve25519-sha256" },
  // Against AsyncSSH's server these cost 3-20 s each (Python's pow() with a full-size
  // exponent: 8192-bit groups for the group exchanges our client asks for, 4096-8192
  // for the big MODP groups); AsyncSSH's client runs them all against listen(). Our
  // client's side of them is the same code as the names kept here: group exchange
  // (one SSH.com variant stays, for a non-default hash), the MODP groups with
  // SHA-224/256/384/512 (group14/15 SSH.com names stay).
  notForOurClient: [
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group-exchange-sha224@ssh.com",
    "diffie-hellman-group-exchange-sha384@ssh.com",
    "diffie-hellman-group16-sha384@ssh.com",
    "diffie-hellman-group16-sha512@ssh.com",
    "diffie-hellman-group17-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group18-sha512@ssh.com",
  ],
});
