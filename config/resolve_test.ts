import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_SSH_CONFIG_PROFILE,
  expandSSHConfigTokens,
  formatSSHConfig,
  parseProxyJump,
  resolveSSHConfig,
  type ResolveSSHConfigOptions,
  SSHConfigError,
  type SSHConfigSystem,
} from "./mod.ts";

const base = { homeDir: "/home/me", localUser: "me", uid: 1000, localHostname: "box.example" };

/** A system with files in memory (directories are inferred from paths). */
function memory(
  files: Record<string, string>,
  extra: Partial<SSHConfigSystem> = {},
): SSHConfigSystem {
  const dirs = new Map<string, Set<string>>();
  for (const p of Object.keys(files)) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join("/") || "/";
      if (!dirs.has(d)) dirs.set(d, new Set());
      dirs.get(d)!.add(parts[i]!);
    }
  }
  return {
    readFile: (p) => Promise.resolve(files[p] ?? (dirs.has(p) ? "" : undefined)),
    readDir: (p) => Promise.resolve(dirs.has(p) ? [...dirs.get(p)!] : undefined),
    ...extra,
  };
}

function resolve(host: string, text: string, options: ResolveSSHConfigOptions = {}) {
  return resolveSSHConfig(host, { ...base, text, ...options });
}

test("resolveSSHConfig() takes the first value obtained and lets -l win over User", async () => {
  const text = "Host web*\n  User deploy\n  Port 2222\nHost *\n  User other\n  Port 22\n";
  const c = await resolve("web1", text);
  assert.equal(c.user, "deploy");
  assert.equal(c.port, 2222);
  assert.equal((await resolve("web1", text, { user: "cli" })).user, "cli");
  assert.equal((await resolve("db", text)).user, "other");
  assert.equal((await resolve("alice@web1", text)).user, "alice");
});

test("resolveSSHConfig() matches Host patterns case-sensitively with negation vetoing", async () => {
  const text = "Host *.example.com !bad.example.com\n  User good\nHost Web\n  Port 1\n";
  assert.equal((await resolve("ok.example.com", text)).user, "good");
  assert.equal((await resolve("bad.example.com", text)).user, "me");
  assert.equal((await resolve("web", text)).port, 22);
  assert.equal((await resolve("Web", text)).port, 1);
  // HostName is lower-cased for the connection, the host argument is kept.
  const c = await resolve("Web", text);
  assert.equal(c.host, "Web");
  assert.equal(c.hostname, "web");
});

test("resolveSSHConfig() reports a bad keyword with its file and line unless IgnoreUnknown covers it", async () => {
  await assert.rejects(resolve("h", "User a\nFrobnicate yes\n"), (e: unknown) => {
    assert.ok(e instanceof SSHConfigError);
    assert.equal(e.code, "ERR_CONFIG_SYNTAX");
    assert.equal(e.file, "<config>");
    assert.equal(e.line, 2);
    return true;
  });
  const c = await resolve("h", "IgnoreUnknown Frob*\nFrobnicate yes\nUser a\n");
  assert.equal(c.user, "a");
});

test("resolveSSHConfig() evaluates Match criteria, exec through the injected shell with tokens", async () => {
  const commands: string[] = [];
  const system = memory({}, {
    exec: (cmd) => {
      commands.push(cmd);
      return Promise.resolve(cmd.includes("db.internal") ? 0 : 1);
    },
  });
  const text = [
    "Host db",
    "  HostName db.internal",
    'Match exec "probe %h %p %r %n"',
    "  User matched",
    "Match originalhost db user matched localuser me",
    "  Port 2200",
    "Match !host db.internal",
    "  Port 9",
    "",
  ].join("\n");
  const c = await resolve("db", text, { system });
  assert.equal(c.user, "matched");
  assert.equal(c.port, 2200);
  assert.deepEqual(commands, ["probe db.internal 22 me db"]);
});

test("resolveSSHConfig() runs a final pass for Match final and canonicalises through the resolver", async () => {
  const lookups: string[] = [];
  const system = memory({}, {
    lookupHost: (name) => {
      lookups.push(name);
      return Promise.resolve(
        name === "web.corp.example." ? { canonicalName: "web.corp.example" } : undefined,
      );
    },
  });
  const text = [
    "CanonicalizeHostname yes",
    "CanonicalDomains nowhere.example corp.example",
    "Match canonical host web.corp.example",
    "  User canon",
    "",
  ].join("\n");
  const c = await resolve("web", text, { system });
  assert.equal(c.hostname, "web.corp.example");
  assert.equal(c.user, "canon");
  assert.deepEqual(lookups, ["web.nowhere.example.", "web.corp.example."]);
  await assert.rejects(
    resolve(
      "web",
      "CanonicalizeHostname yes\nCanonicalDomains nowhere.example\nCanonicalizeFallbackLocal no\n",
      { system },
    ),
    /Could not resolve host/,
  );
});

test("resolveSSHConfig() follows a permitted CNAME", async () => {
  const system = memory({}, {
    lookupHost: (name) =>
      Promise.resolve(name === "www.a.example." ? { canonicalName: "real.b.example" } : undefined),
  });
  const text =
    "CanonicalizeHostname yes\nCanonicalDomains a.example\nCanonicalizePermittedCNAMEs *.a.example:*.b.example\n";
  assert.equal((await resolve("www", text, { system })).hostname, "real.b.example");
});

test("resolveSSHConfig() reads Include globs relative to ~/.ssh, sorted, in Host blocks only when active", async () => {
  const system = memory({
    "/home/me/.ssh/conf.d/20-b.conf": "Host b\n  User bee\n",
    "/home/me/.ssh/conf.d/10-a.conf": "Host a b\n  User ay\n  Port 2010\n",
    "/home/me/.ssh/conf.d/.hidden.conf": "User hidden\n",
    "/etc/extra.conf": "Port 7\n",
  });
  const text = "Include conf.d/*.conf\nHost x\n  Include /etc/extra.conf\n";
  assert.equal((await resolve("b", text, { system })).user, "ay");
  assert.equal((await resolve("a", text, { system })).port, 2010);
  assert.equal((await resolve("x", text, { system })).port, 7);
  assert.equal((await resolve("y", text, { system })).port, 22);
});

test("Include globs as OpenSSH's glob does: [:class:], an escaped leading dot, . and .., no recursion", async () => {
  const files: Record<string, string> = {
    "/etc/g/1.conf": "SendEnv ONE\n",
    "/etc/g/a.conf": "SendEnv A\n",
    "/etc/g/ab.conf": "SendEnv AB\n",
    "/etc/g/.hidden": "SendEnv HIDDEN\n",
    "/etc/g/x": "SendEnv X\n",
    "/etc/g/sub/keep": "",
  };
  const dirs = memory(files);
  // Paths with "." and ".." in them name the file they lead to.
  const norm = (p: string) => {
    const out: string[] = [];
    for (const c of p.split("/")) {
      if (c === "..") out.pop();
      else if (c !== ".") out.push(c);
    }
    return out.join("/");
  };
  const system: SSHConfigSystem = {
    readFile: (p) => dirs.readFile!(norm(p)),
    readDir: (p) => dirs.readDir!(norm(p)),
  };
  const sendEnv = async (include: string) =>
    (await resolve("h", `Include ${include}\n`, { system })).sendEnv;
  assert.deepEqual(await sendEnv("/etc/g/[[:digit:]].conf"), ["ONE"]);
  assert.deepEqual(await sendEnv("/etc/g/[[:lower:][:digit:]]*.conf"), ["ONE", "A", "AB"]);
  assert.deepEqual(await sendEnv("/etc/g/[[:nosuch:]]*"), []);
  // A dot matched by an escaped dot counts; "." and ".." are directory entries too.
  assert.deepEqual(await sendEnv("/etc/g/\\.h*"), ["HIDDEN"]);
  assert.deepEqual(await sendEnv("/etc/g/sub/.*/x"), ["X"]);
  // OpenBSD glob stores [:alnum:] as class 0, a NUL that ends the pattern: ".conf" is dropped.
  assert.deepEqual(await sendEnv("/etc/g/[[:alnum:]].conf"), ["X"]);
  // A component of 50,000 stars neither overflows the stack nor matches (too long for glob).
  assert.deepEqual(await sendEnv(`/etc/g/${"*".repeat(50_000)}x`), []);
  assert.deepEqual(await sendEnv(`/etc/g/${"*a".repeat(1000)}*b`), []);
  assert.deepEqual(await sendEnv(`/etc/g/${"*".repeat(2000)}x`), ["X"]);
});

test("resolveSSHConfig() refuses an Include loop after 16 levels", async () => {
  const system = memory({ "/etc/loop.conf": "Include /etc/loop.conf\n" });
  await assert.rejects(resolve("h", "Include /etc/loop.conf\n", { system }), (e: unknown) => {
    assert.ok(e instanceof SSHConfigError);
    assert.equal(e.code, "ERR_CONFIG_INCLUDE");
    return true;
  });
});

test("resolveSSHConfig() expands tokens and ${ENV} where ssh -G does, and leaves IdentityFile as written", async () => {
  const text = [
    "Host h",
    "  HostName real.example",
    "  ControlPath ~/.ssh/cm-%r@%h:%p-%u-%L-%l-%i-%n",
    "  IdentityAgent ${AGENT_DIR}/agent",
    "  IdentityFile ~/.ssh/id_%h",
    "  UserKnownHostsFile %d/kh",
    "",
  ].join("\n");
  const c = await resolve("h", text, { env: { AGENT_DIR: "/run/a" } });
  assert.equal(c.controlPath, "/home/me/.ssh/cm-me@real.example:22-me-box-box.example-1000-h");
  assert.equal(c.identityAgent, "/run/a/agent");
  assert.deepEqual(c.identityFiles, ["~/.ssh/id_%h"]);
  assert.deepEqual(c.userKnownHostsFiles, ["/home/me/kh"]);
  assert.equal(
    expandSSHConfigTokens(c, "~/.ssh/id_%h", { homeDir: "/home/me" }),
    "/home/me/.ssh/id_real.example",
  );
  await assert.rejects(resolve("h", "ControlPath /tmp/%z\n"), /unknown key %z/);
  await assert.rejects(
    resolve("h", "IdentityAgent ${NOT_SET}/x\n"),
    /Invalid environment expansion/,
  );
});

test("${ENV} names that are Object properties (toString, constructor, __proto__) are unset variables", async () => {
  for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
    await assert.rejects(
      resolve("h", `ControlPath /tmp/\${${name}}\n`),
      (e: unknown) => e instanceof SSHConfigError && /has no value/.test(e.message),
      name,
    );
  }
  const c = await resolve("h", "IdentityFile ~/.ssh/${constructor}\n");
  assert.throws(
    () => expandSSHConfigTokens(c, c.identityFiles[0]!, { homeDir: "/home/me", env: {} }),
    (e: unknown) => e instanceof SSHConfigError,
  );
});

test("a HostName with a bad %-token fails a later Match line with an SSHConfigError naming the line", async () => {
  for (const match of ["Match host foo", "Match all", "Match exec true"]) {
    await assert.rejects(resolve("h", `HostName %x\n${match}\n`), (e: unknown) => {
      assert.ok(e instanceof SSHConfigError, String(e));
      assert.equal(e.code, "ERR_CONFIG_EXPAND");
      assert.equal(e.line, 2);
      return true;
    });
  }
});

test("resolveSSHConfig() applies +, - and ^ to the library's own algorithm lists", async () => {
  const p = DEFAULT_SSH_CONFIG_PROFILE;
  const plus = await resolve("h", "Ciphers +aes128-cbc\n");
  assert.deepEqual(plus.ciphers, [...p.ciphers.defaults, "aes128-cbc"]);
  const minus = await resolve("h", "Ciphers -aes*-ctr\n");
  assert.deepEqual(minus.ciphers, p.ciphers.defaults.filter((c) => !/^aes.*-ctr$/.test(c)));
  const caret = await resolve("h", "KexAlgorithms ^curve25519-sha256\n");
  assert.equal(caret.kexAlgorithms![0], "curve25519-sha256");
  assert.equal(caret.kexAlgorithms!.length, p.kex.defaults.length);
  // Names we do not implement are refused, as OpenSSH refuses names it does not know.
  await assert.rejects(resolve("h", "MACs hmac-ripemd160@openssh.com\n"), /Bad SSH2 MAC spec/);
  // umac-64@openssh.com is one of ours now.
  assert.deepEqual((await resolve("h", "MACs umac-64@openssh.com\n")).macs, [
    "umac-64@openssh.com",
  ]);
});

test("resolveSSHConfig() matches Match localnetwork against the injected addresses", async () => {
  const system = memory({}, {
    localAddresses: () => Promise.resolve(["10.1.2.3", "fe80::1%eth0"]),
  });
  const text =
    "Match localnetwork 10.0.0.0/8\n  User office\nMatch localnetwork fe80::/10\n  Port 3\n";
  const c = await resolve("h", text, { system });
  assert.equal(c.user, "office");
  assert.equal(c.port, 22); // scoped link-local addresses never match, as in OpenSSH
  await assert.rejects(
    resolve("h", "Match localnetwork 10.0.0.1/8\n  User x\n", { system }),
    /Invalid network/,
  );
});

test("resolveSSHConfig() keeps ProxyJump hops and parseProxyJump splits them", async () => {
  const c = await resolve("h", "ProxyJump ops@a:2222,ssh://b,[::1]:22\n");
  assert.equal(c.proxyJump, "ops@a:2222,ssh://b,[::1]:22");
  assert.equal(c.proxyCommand, undefined);
  assert.deepEqual(parseProxyJump(c.proxyJump!), [
    { user: "ops", host: "a", port: 2222 },
    { user: undefined, host: "b", port: undefined },
    { user: undefined, host: "::1", port: 22 },
  ]);
  await assert.rejects(resolve("j", "Host j\n  ProxyJump j\n"), /jumphost loop/);
});

test("formatSSHConfig() prints the lines ssh -G prints, in its order", async () => {
  const c = await resolve("h", "User u\nControlMaster auto\nForwardAgent yes\nConnectTimeout 5\n");
  const out = formatSSHConfig(c);
  const lines = out.split("\n");
  assert.deepEqual(lines.slice(0, 4), ["host h", "user u", "hostname h", "port 22"]);
  assert.ok(lines.includes("controlmaster auto"));
  assert.ok(lines.includes("forwardagent yes"));
  assert.ok(lines.includes("connecttimeout 5"));
  assert.ok(lines.includes("updatehostkeys true"));
  assert.ok(out.endsWith("\n"));
});

test("resolveSSHConfig() reads the default files when none are given, skipping missing ones", async () => {
  const system = memory({ "/etc/ssh/ssh_config": "Host *\n  Port 2022\n" });
  const c = await resolveSSHConfig("h", { ...base, system });
  assert.equal(c.port, 2022);
  await assert.rejects(
    resolveSSHConfig("h", { ...base, system, files: ["/nope"] }),
    /Can't open user config file/,
  );
});

test("resolveSSHConfig() needs the local user and home directory", async () => {
  await assert.rejects(
    resolveSSHConfig("h", { text: "" }),
    /needs the local user.*import \{ resolveSSHConfig \} from "@sshts\/ssh"/,
  );
  const c = await resolveSSHConfig("h", { text: "", env: { USER: "u", HOME: "/home/u" } });
  assert.equal(c.user, "u");
});

test("an included file's owner is checked against the uid when known; the mode always", async () => {
  const sys = (uid: number, mode: number) =>
    memory({ "/home/me/.ssh/inc": "Host *\n  Port 2200\n" }, {
      stat: () => Promise.resolve({ uid, mode }),
    });
  const opts = {
    homeDir: "/home/me",
    localUser: "me",
    localHostname: "box",
    text: "Include inc\n",
  };
  // uid unknown (Deno without --allow-sys): the user's own file is read, not taken for root's.
  assert.equal((await resolveSSHConfig("h", { ...opts, system: sys(1000, 0o644) })).port, 2200);
  await assert.rejects(
    resolveSSHConfig("h", { ...opts, system: sys(1000, 0o664) }),
    /Bad owner or permissions/,
  );
  await assert.rejects(
    resolveSSHConfig("h", { ...opts, uid: 1001, system: sys(1000, 0o644) }),
    /Bad owner or permissions/,
  );
  assert.equal(
    (await resolveSSHConfig("h", { ...opts, uid: 1000, system: sys(1000, 0o644) })).port,
    2200,
  );
});
