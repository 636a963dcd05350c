import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryBackend, symlinkOrder } from "./mod.ts";
import { EnginePair, expect } from "./_test_pair.ts";
import { decodeRequest, encodeRequest } from "./messages.ts";
import { SSHReader } from "../core/wire.ts";

const OURS = "SSH-2.0-sshts_0.1";

test("symlinkOrder(): the draft's order only with AsyncSSH and ssh2 talking to a peer they do not take for OpenSSH", () => {
  const cases: [string | undefined, string, string][] = [
    ["SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", OURS, "openssh"],
    ["SSH-2.0-paramiko_3.4.0", OURS, "openssh"],
    ["SSH-2.0-libssh2_1.10.0", OURS, "openssh"],
    ["SSH-2.0-dropbear_2022.83", OURS, "openssh"],
    ["SSH-2.0-PuTTY_Release_0.78", OURS, "openssh"],
    [undefined, OURS, "openssh"],
    ["", OURS, "openssh"],
    ["SSH-2.0-AsyncSSH_2.13.1", OURS, "draft"],
    ["SSH-2.0-ssh2js1.17.0", OURS, "draft"],
    // They read OpenSSH's order from a peer whose line they take for OpenSSH's.
    ["SSH-2.0-AsyncSSH_2.13.1", "SSH-2.0-OpenSSH_9.9", "openssh"],
    ["SSH-2.0-AsyncSSH_2.13.1", "SSH-2.0-gateway (paramiko compatible)", "openssh"],
    ["SSH-2.0-ssh2js1.17.0", "SSH-2.0-OpenSSH_9.9", "openssh"],
    ["SSH-2.0-ssh2js1.17.0", "SSH-2.0-dropbear_2024", "openssh"],
    // ssh2 looks at the start of the line only.
    ["SSH-2.0-ssh2js1.17.0", "SSH-2.0-gateway OpenSSH", "draft"],
    // Only the software version names the peer, not a comment.
    ["SSH-2.0-sshts_0.1 AsyncSSH_2.13.1", OURS, "openssh"],
  ];
  for (const [peer, own, want] of cases) {
    assert.equal(symlinkOrder(peer, own), want, `${peer} / ${own}`);
  }
});

test("SFTPServerEngine({ symlinkOrder }) reads SYMLINK's paths in the order the client sends", async () => {
  for (const order of ["openssh", "draft"] as const) {
    const backend = new MemoryBackend();
    backend.writeFile("/target.txt", new TextEncoder().encode("t"));
    const p = new EnginePair(backend, { symlinkOrder: order });
    await p.start();
    // Our client engine writes OpenSSH's order (target first): a draft client's request
    // is that with the two swapped.
    const link = { linkPath: "/link", targetPath: "target.txt" };
    const sent = order === "draft"
      ? { linkPath: link.targetPath, targetPath: link.linkPath }
      : link;
    expect(await p.call({ type: "symlink", ...sent }), "ok");
    assert.equal(await backend.readlink("/link"), "target.txt", order);
  }
});

test("encodeRequest()/decodeRequest() write and read SYMLINK in the order given; other requests alike", () => {
  const req = { type: "symlink", linkPath: "/link", targetPath: "target.txt" } as const;
  const strings = (p: Uint8Array) => {
    const r = new SSHReader(p, 9);
    return [r.readStringUtf8("a"), r.readStringUtf8("b")];
  };
  const [openssh] = encodeRequest(1, req);
  const [draft] = encodeRequest(1, req, "draft");
  assert.deepEqual(strings(openssh!), ["target.txt", "/link"]);
  assert.deepEqual(strings(draft!), ["/link", "target.txt"]);
  assert.deepEqual(decodeRequest(draft![4]!, new SSHReader(draft!, 9), "draft"), req);
  assert.deepEqual(decodeRequest(openssh![4]!, new SSHReader(openssh!, 9)), req);
  // Read in the wrong order, the two are swapped: what AsyncSSH and ssh2 clients met.
  assert.deepEqual(decodeRequest(draft![4]!, new SSHReader(draft!, 9)), {
    type: "symlink",
    linkPath: "target.txt",
    targetPath: "/link",
  });
});
