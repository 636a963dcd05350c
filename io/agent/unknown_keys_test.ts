/**
 * An agent that lists keys we cannot read (garbage, or a type from a newer
 * agent): listIdentities() still shows them, but connect() does not offer them
 * to the server, where each would spend one of its MaxAuthTries (ssh's
 * ssh_fetch_identitylist skips unknown key types likewise).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeAgentReply } from "../../agent/messages.ts";
import { encodeAgentFrame } from "../../agent/protocol.ts";
import { SSHWriter } from "../../core/wire.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import type { ByteSocket, SocketHandlers } from "../runtime/socket.ts";
import { AgentClient } from "./client.ts";
import { loadAgentKeys } from "./connect_agent.ts";

test("loadAgentKeys() skips agent keys of a type it cannot read; listIdentities() keeps them", async () => {
  const known = generatePrivateKey("ed25519");
  const unknownType = new SSHWriter().writeStringUtf8("foo-v99@example.com")
    .writeString(new Uint8Array(3)).toBytes();
  const garbage = Uint8Array.of(1, 2, 3);
  const reply = encodeAgentFrame(encodeAgentReply({
    type: "identities",
    identities: [
      { keyBlob: unknownType, comment: "newer agent" },
      { keyBlob: garbage, comment: "garbage" },
      { keyBlob: known.publicBlob, comment: "known" },
    ],
  }));
  let handlers: SocketHandlers | undefined;
  const socket: ByteSocket = {
    write: () => {
      queueMicrotask(() => handlers?.data(reply));
      return true;
    },
    end: () => {},
    destroy: () => {},
    pause: () => {},
    resume: () => {},
    setHandlers: (h) => void (handlers = h),
  };
  const client = new AgentClient(socket);
  const listed = await client.listIdentities();
  assert.deepEqual(listed.map((k) => k.comment), ["newer agent", "garbage", "known"]);
  assert.deepEqual(listed.map((k) => k.key === undefined), [true, true, false]);
  const auth = await loadAgentKeys(client, { named: [], defaults: [], identitiesOnly: false });
  assert.deepEqual(auth.keys.map((k) => k.publicKeyBlob), [known.publicBlob]);
  auth.close();
});
