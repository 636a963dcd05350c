/**
 * The `ssh -G` oracle: runs OpenSSH's own resolver over test configurations
 * (batched through one `sh` per batch, batches in parallel, results cached by
 * content under `.cache/conformance/`), resolves the same configurations with
 * `config/`, and compares them keyword by keyword.
 *
 * A case is a configuration text plus extra files (for `Include`); `@DIR@` in
 * any of them stands for the case's directory and `@REL@` for the same
 * directory relative to `~/.ssh` (for relative `Include` paths).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { gunzipSync, gzipSync } from "node:zlib";
import { IPQOS, IPQOS_DEPRECATED_TOS, LOG_LEVELS } from "../config/_options.ts";
import type { SSHConfigProfile } from "../config/defaults.ts";
import { formatSSHConfig } from "../config/format.ts";
import { resolveSSHConfig } from "../config/resolve.ts";
import type { SSHConfigSystem } from "../config/types.ts";
import { createSSHConfigSystem } from "../io/config/system.ts";
import { fixtureCacheDir } from "./fixtures/mod.ts";
import { trixieTreePath } from "./fixtures/trixie.ts";

/** One configuration to resolve for one host. */
export interface OracleCase {
  /** Unique name (file name and host, or generator seed). */
  readonly id: string;
  /** The configuration read with `-F`. */
  readonly config: string;
  /** The host argument (may be `user@host` or an ssh:// URI). */
  readonly host: string;
  /** Extra files, by path relative to the case directory. */
  readonly files?: Readonly<Record<string, string>> | undefined;
  /** `-l`, `-p` and `-o` arguments. */
  readonly user?: string | undefined;
  readonly port?: number | undefined;
  readonly options?: readonly string[] | undefined;
  /** Uses OpenSSH 10-only syntax: run against 10.x only. */
  readonly v10?: boolean | undefined;
}

/** What one resolver said about one case. */
export interface OracleOutcome {
  /** 0 when it printed a configuration. */
  readonly status: number;
  /** The `ssh -G` lines (empty on failure). */
  readonly stdout: string;
}

/** An OpenSSH installation to ask. */
export interface OracleTarget {
  /** "9.2" or "10". */
  readonly name: string;
  /** Root directory as the host sees it ("/" or the trixie tree). */
  readonly root: string;
  /** `ssh -V`. */
  readonly version: string;
  /** Wraps argv to run inside the installation. */
  wrap(argv: readonly string[]): string[];
  /** The build facts `config/` needs to reproduce its `ssh -G`. */
  readonly profile: SSHConfigProfile;
}

/** The environment both resolvers see (ssh gets exactly this). */
export const ORACLE_ENV: Readonly<Record<string, string>> = Object.freeze({
  HOME: "/root",
  USER: "root",
  LOGNAME: "root",
  SHELL: "/bin/sh",
  PATH: "/usr/bin:/bin:/usr/sbin:/sbin",
  LANG: "C",
  ORACLE_A: "alpha",
  ORACLE_B: "/tmp/beta",
  ORACLE_E: "",
  ORACLE_SP: "two words",
});

function run(
  argv: readonly string[],
  env: Record<string, string> = { ...ORACLE_ENV },
): { status: number; stdout: string; stderr: string } {
  const [f, ...a] = argv;
  const r = spawnSync(f!, a, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Builds a target: asks the installation for its algorithm lists and defaults. */
export function makeTarget(
  name: string,
  root: string,
  wrap: (argv: readonly string[]) => string[],
): OracleTarget {
  const q = (what: string) =>
    run(wrap(["ssh", "-Q", what])).stdout.trim().split("\n").filter((s) => s !== "");
  const g = run(wrap(["ssh", "-G", "-F", "/dev/null", "oracle-defaults"])).stdout;
  const get = (k: string) =>
    g.split("\n").filter((l) => l.startsWith(k + " ")).map((l) => l.slice(k.length + 1));
  const first = (k: string) => get(k)[0] ?? "";
  const version = run(wrap(["ssh", "-V"])).stderr.trim();
  const opt = (o: string, k: string) =>
    run(wrap(["ssh", "-G", "-F", "/dev/null", "-o", o, "oracle-defaults"])).stdout.split("\n")
      .find((l) => l.startsWith(k + " "))?.slice(k.length + 1);
  const quietName = opt("LogLevel=QUIET", "loglevel") ?? "QUIET";
  const tosDeprecated = opt("IPQoS=lowdelay", "ipqos") === "none none";
  const batchAlive = Number(opt("BatchMode=yes", "serveraliveinterval") ?? "0");
  const ipqos = first("ipqos").split(" ").map((n) => IPQOS_VALUES[n] ?? parseInt(n, 16));
  const gss = first("gssapikexalgorithms");
  const major = Number(/OpenSSH_(\d+)/.exec(version)?.[1] ?? "0");
  const profile: SSHConfigProfile = {
    ciphers: { supported: q("cipher"), defaults: first("ciphers").split(",") },
    macs: { supported: q("mac"), defaults: first("macs").split(",") },
    kex: {
      supported: q("kex"),
      defaults: first("kexalgorithms").split(","),
      accepted: gss === "" ? undefined : [...gss.split(","), "gss-group1-sha1-"],
    },
    keys: {
      supported: q("PubkeyAcceptedAlgorithms"),
      defaults: first("hostkeyalgorithms").split(","),
    },
    caSignatures: { supported: q("sig"), defaults: first("casignaturealgorithms").split(",") },
    gssKex: gss === ""
      ? undefined
      : { supported: [...gss.split(","), "gss-group1-sha1-"], defaults: gss.split(",") },
    identityFiles: get("identityfile"),
    ipqosNames: tosDeprecated ? IPQOS_DEPRECATED_TOS : IPQOS,
    ipqos: [ipqos[0]!, ipqos[1]!],
    forwardX11Trusted: first("forwardx11trusted") === "yes",
    batchModeServerAliveInterval: batchAlive,
    logLevels: quietName === "QUIET" ? undefined : [[quietName, "QUIET"], ...LOG_LEVELS],
    xauthLocation: first("xauthlocation"),
    securityKeyProvider: first("securitykeyprovider"),
    requiredRSASize: Number(first("requiredrsasize")),
    version: version.split(",")[0]!,
    printsOpenSSH10Keywords: major >= 10,
  };
  return { name, root, version, wrap, profile };
}

const IPQOS_VALUES: Record<string, number> = {
  none: 2147483647,
  af11: 0x28,
  af12: 0x30,
  af13: 0x38,
  af21: 0x48,
  af22: 0x50,
  af23: 0x58,
  af31: 0x68,
  af32: 0x70,
  af33: 0x78,
  af41: 0x88,
  af42: 0x90,
  af43: 0x98,
  cs0: 0,
  cs1: 0x20,
  cs2: 0x40,
  cs3: 0x60,
  cs4: 0x80,
  cs5: 0xa0,
  cs6: 0xc0,
  cs7: 0xe0,
  ef: 0xb8,
  le: 0x01,
  lowdelay: 0x10,
  throughput: 0x08,
  reliability: 0x04,
};

/** This machine's OpenSSH (9.2 here). */
export function systemTarget(): OracleTarget {
  return makeTarget("9.2", "/", (argv) => [...argv]);
}

/** The trixie tree's OpenSSH 10.x. */
export function trixieTarget(): OracleTarget {
  const tree = trixieTreePath();
  // ssh -G needs neither /proc nor /dev mounts: plain chroot is enough and cheaper.
  return makeTarget("10", tree, (argv) => ["chroot", tree, ...argv]);
}

/** Quotes for sh. */
function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function caseKey(target: OracleTarget, c: OracleCase): string {
  return createHash("sha256").update(JSON.stringify([
    target.version,
    c.config,
    c.host,
    c.files ?? {},
    c.user ?? null,
    c.port ?? null,
    c.options ?? [],
    ORACLE_ENV,
    hostname(),
  ])).digest("hex").slice(0, 32);
}

/** Cache of ssh -G outcomes by case content (placeholders unexpanded). */
class OutcomeCache {
  readonly #path: string;
  readonly #map = new Map<string, OracleOutcome>();
  #dirty = false;
  constructor(target: OracleTarget) {
    const id = createHash("sha256").update(target.version).digest("hex").slice(0, 12);
    this.#path = join(fixtureCacheDir(), "ssh-config-oracle", `${target.name}-${id}.json.gz`);
    if (process.env.SSHTS_ORACLE_NO_CACHE === "1") return;
    try {
      const data = JSON.parse(gunzipSync(readFileSync(this.#path)).toString("utf8")) as [
        string,
        OracleOutcome,
      ][];
      for (const [k, v] of data) this.#map.set(k, v);
    } catch {
      // No cache yet.
    }
  }
  get(key: string): OracleOutcome | undefined {
    return this.#map.get(key);
  }
  set(key: string, v: OracleOutcome): void {
    this.#map.set(key, v);
    this.#dirty = true;
  }
  save(): void {
    if (!this.#dirty || process.env.SSHTS_ORACLE_NO_CACHE === "1") return;
    mkdirSync(dirname(this.#path), { recursive: true });
    const tmp = `${this.#path}.${process.pid}.tmp`;
    writeFileSync(tmp, gzipSync(Buffer.from(JSON.stringify([...this.#map]), "utf8")));
    // rename is atomic: a concurrent reader sees the old or the new file.
    spawnSync("mv", ["-f", tmp, this.#path]);
  }
}

/** Per-run scratch directories inside the target's root (and its ~/.ssh). */
export class OracleScratch {
  readonly name = `sshts-oracle-${process.pid}-${randomBytes(4).toString("hex")}`;
  readonly root: string;
  constructor(root: string) {
    this.root = root;
    mkdirSync(this.hostPath(`/tmp/${this.name}`), { recursive: true });
    mkdirSync(this.hostPath(`/root/.ssh/${this.name}`), { recursive: true, mode: 0o700 });
  }
  hostPath(inner: string): string {
    return this.root === "/" ? inner : join(this.root, inner);
  }
  /** The case directory as ssh sees it, and its path relative to ~/.ssh. */
  caseDir(index: number): { dir: string; rel: string } {
    return { dir: `/tmp/${this.name}/c${index}`, rel: `${this.name}/c${index}` };
  }
  remove(): void {
    rmSync(this.hostPath(`/tmp/${this.name}`), { recursive: true, force: true });
    rmSync(this.hostPath(`/root/.ssh/${this.name}`), { recursive: true, force: true });
  }
}

function fill(s: string, dir: string, rel: string): string {
  return s.replaceAll("@DIR@", dir).replaceAll("@REL@", rel);
}

function unfill(s: string, dir: string, rel: string): string {
  return s.replaceAll(dir, "@DIR@").replaceAll(rel, "@REL@");
}

/** Writes a case's files (config at `<dir>/config`) under the scratch directories. */
function writeCase(s: OracleScratch, index: number, c: OracleCase): { dir: string; rel: string } {
  const { dir, rel } = s.caseDir(index);
  const put = (inner: string, text: string) => {
    const p = s.hostPath(inner);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, fill(text, dir, rel), { mode: 0o644 });
  };
  put(`${dir}/config`, c.config);
  for (const [name, text] of Object.entries(c.files ?? {})) {
    if (name.startsWith("~/")) put(`/root/.ssh/${rel}/${name.slice(2)}`, text);
    else put(`${dir}/${name}`, text);
  }
  return { dir, rel };
}

function sshArgs(c: OracleCase, dir: string, rel: string): string[] {
  const a = ["ssh", "-G", "-F", `${dir}/config`];
  if (c.user !== undefined) a.push("-l", c.user);
  if (c.port !== undefined) a.push("-p", String(c.port));
  for (const o of c.options ?? []) a.push("-o", fill(o, dir, rel));
  a.push("--", fill(c.host, dir, rel));
  return a;
}

function runBatch(target: OracleTarget, script: string): Promise<string> {
  const argv = target.wrap(["/bin/sh", script]);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...ORACLE_ENV },
      stdio: ["ignore", "pipe", "ignore"],
    });
    const out: Uint8Array[] = [];
    child.stdout.on("data", (d: Uint8Array) => out.push(d));
    child.on("error", reject);
    child.on("close", () => resolve(Buffer.concat(out).toString("latin1")));
  });
}

/** Statistics of one oracle run. */
export interface OracleStats {
  cases: number;
  cached: number;
  spawned: number;
  ms: number;
}

/**
 * Runs `ssh -G` for every case (cached outcomes are reused), `parallel`
 * batches at a time. Outcomes come back in case order.
 */
export async function runOpenSSH(
  target: OracleTarget,
  cases: readonly OracleCase[],
  scratch: OracleScratch,
  options: { parallel?: number; batchSize?: number } = {},
): Promise<{ outcomes: OracleOutcome[]; stats: OracleStats }> {
  const t0 = Date.now();
  const cache = new OutcomeCache(target);
  const outcomes: (OracleOutcome | undefined)[] = new Array(cases.length);
  const todo: number[] = [];
  cases.forEach((c, i) => {
    const hit = cache.get(caseKey(target, c));
    if (hit) outcomes[i] = hit;
    else todo.push(i);
  });
  const batchSize = options.batchSize ?? 200;
  const batches: number[][] = [];
  for (let i = 0; i < todo.length; i += batchSize) batches.push(todo.slice(i, i + batchSize));
  const work = async (batch: number[], bi: number) => {
    const lines: string[] = [];
    const dirs = new Map<number, { dir: string; rel: string }>();
    for (const i of batch) {
      const d = writeCase(scratch, i, cases[i]!);
      dirs.set(i, d);
      lines.push(
        `echo '@@@BEGIN ${i}'`,
        `${sshArgs(cases[i]!, d.dir, d.rel).map(shq).join(" ")} </dev/null 2>/dev/null`,
        `echo "@@@END ${i} $?"`,
      );
    }
    const inner = `/tmp/${scratch.name}/batch${bi}.sh`;
    writeFileSync(scratch.hostPath(inner), lines.join("\n") + "\n");
    const out = await runBatch(target, inner);
    const re = /@@@BEGIN (\d+)\n([\s\S]*?)@@@END \1 (\d+)\n/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(out)) !== null) {
      const i = Number(m[1]);
      const d = dirs.get(i)!;
      const stdout = Buffer.from(m[2]!, "latin1").toString("utf8");
      const o: OracleOutcome = { status: Number(m[3]), stdout: Number(m[3]) === 0 ? stdout : "" };
      outcomes[i] = o;
      cache.set(caseKey(target, cases[i]!), {
        status: o.status,
        stdout: unfill(o.stdout, d.dir, d.rel),
      });
      outcomes[i] = { status: o.status, stdout: unfill(o.stdout, d.dir, d.rel) };
    }
    for (const i of batch) {
      if (!outcomes[i]) throw new Error(`ssh -G gave no result for case ${cases[i]!.id}`);
    }
  };
  const parallel = options.parallel ?? 2;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, batches.length) }, async () => {
      while (next < batches.length) {
        const bi = next++;
        await work(batches[bi]!, bi);
      }
    }),
  );
  cache.save();
  return {
    outcomes: outcomes as OracleOutcome[],
    stats: {
      cases: cases.length,
      cached: cases.length - todo.length,
      spawned: todo.length,
      ms: Date.now() - t0,
    },
  };
}

const execMemo = new Map<string, Promise<number>>();

/** A system for `config/` that sees the target's root as `/`. */
async function rootedSystem(target: OracleTarget): Promise<SSHConfigSystem> {
  const p = (path: string) => (target.root === "/" ? path : join(target.root, path));
  const real = await createSSHConfigSystem({
    env: { ...ORACLE_ENV },
    servicesFile: p("/etc/services"),
    passwdFile: p("/etc/passwd"),
  });
  return {
    readFile: (path) => real.readFile!(p(path)),
    readDir: (path) => real.readDir!(p(path)),
    stat: (path) => real.stat!(p(path)),
    // The generated Match exec commands are pure (true, false, test ...): run each distinct
    // command once per run (ssh runs every one; spawning is what costs here).
    exec: (cmd) => {
      let r = execMemo.get(cmd);
      if (!r) execMemo.set(cmd, r = real.exec!(cmd));
      return r;
    },
    // ssh -G resolves through the system resolver; the cases only use names that resolve
    // nowhere (.invalid) or numeric addresses, so "does not resolve" is the truth for both.
    lookupHost: () => Promise.resolve(undefined),
    localAddresses: () => real.localAddresses!(),
    servicePort: (n) => real.servicePort!(n),
    userHome: (u) => real.userHome!(u),
  };
}

/** The case's files as ssh sees them: absolute path to text. */
function caseFiles(c: OracleCase, dir: string, rel: string): Map<string, string> {
  const m = new Map<string, string>();
  m.set(`${dir}/config`, fill(c.config, dir, rel));
  for (const [name, text] of Object.entries(c.files ?? {})) {
    const path = name.startsWith("~/") ? `/root/.ssh/${rel}/${name.slice(2)}` : `${dir}/${name}`;
    m.set(path, fill(text, dir, rel));
  }
  return m;
}

/** A system that serves the case's files from memory and everything else from the target root. */
function overlay(
  base: SSHConfigSystem,
  files: Map<string, string>,
  roots: readonly string[],
): SSHConfigSystem {
  const under = (p: string) => roots.some((r) => p === r || p.startsWith(r + "/"));
  const children = (d: string) => {
    const out = new Set<string>();
    for (const f of files.keys()) {
      if (f.startsWith(d + "/")) out.add(f.slice(d.length + 1).split("/")[0]!);
    }
    return out;
  };
  return {
    ...base,
    readFile: (p) => {
      const t = files.get(p);
      if (t !== undefined) return Promise.resolve(t);
      if (under(p)) return Promise.resolve(children(p).size > 0 ? "" : undefined);
      return base.readFile!(p);
    },
    readDir: (p) => {
      if (under(p) || roots.some((r) => r.startsWith(p + "/"))) {
        const c = children(p);
        if (under(p)) return Promise.resolve(c.size > 0 ? [...c] : undefined);
        return base.readDir!(p).then((l) => [...new Set([...(l ?? []), ...c])]);
      }
      return base.readDir!(p);
    },
    stat: (p) => (files.has(p) ? Promise.resolve({ uid: 0, mode: 0o644 }) : base.stat!(p)),
  };
}

/** Resolves every case with `config/` (case files served from memory), printing like `ssh -G`. */
export async function runOurs(
  target: OracleTarget,
  cases: readonly OracleCase[],
  scratch: OracleScratch,
): Promise<OracleOutcome[]> {
  const system = await rootedSystem(target);
  const out: OracleOutcome[] = new Array(cases.length);
  const localHostname = hostname();
  const one = async (i: number) => {
    const c = cases[i]!;
    const { dir, rel } = scratch.caseDir(i);
    const sys = overlay(system, caseFiles(c, dir, rel), [dir, `/root/.ssh/${rel}`]);
    try {
      const r = await resolveSSHConfig(fill(c.host, dir, rel), {
        files: [`${dir}/config`],
        user: c.user,
        port: c.port,
        options: c.options?.map((o) => fill(o, dir, rel)),
        env: ORACLE_ENV,
        localUser: "root",
        uid: 0,
        homeDir: "/root",
        localHostname,
        system: sys,
        profile: target.profile,
      });
      out[i] = {
        status: 0,
        stdout: unfill(formatSSHConfig(r, { profile: target.profile }), dir, rel),
      };
    } catch (e) {
      if (!(e instanceof Error) || e.name !== "SSHConfigError") throw e;
      out[i] = { status: 255, stdout: "" };
    }
  };
  // Several at a time: Match exec spawns a shell, and those waits overlap.
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < cases.length) await one(next++);
  }));
  return out;
}

/** One keyword whose values differ. */
export interface Mismatch {
  readonly id: string;
  readonly keyword: string;
  readonly openssh: readonly string[];
  readonly ours: readonly string[];
}

/** Agreement counts: one unit per keyword per case (or one per case where either failed). */
export interface Agreement {
  units: number;
  agreed: number;
  mismatches: Mismatch[];
}

function byKeyword(out: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of out.split("\n")) {
    if (line === "") continue;
    const sp = line.indexOf(" ");
    const k = sp < 0 ? line : line.slice(0, sp);
    const v = sp < 0 ? "" : line.slice(sp + 1);
    const list = m.get(k) ?? [];
    list.push(v);
    m.set(k, list);
  }
  return m;
}

/**
 * Known, listed differences of OpenSSH's `ssh -G` that `config/` does not
 * copy (config/README.md): a LocalForward whose target is a UNIX socket is
 * also printed as a `dynamicforward` line.
 */
function dropKnownQuirks(m: Map<string, string[]>): void {
  const local = m.get("localforward") ?? [];
  const dyn = m.get("dynamicforward");
  if (!dyn) return;
  const quirk = new Set(
    local.filter((v) => !/ \[[^\]]*\]:\d+$/.test(v)).map((v) => v.slice(0, v.lastIndexOf(" "))),
  );
  const kept = dyn.filter((v) => !quirk.has(v));
  if (kept.length === 0) m.delete("dynamicforward");
  else m.set("dynamicforward", kept);
}

/** Compares outcomes keyword by keyword. */
export function compare(
  cases: readonly OracleCase[],
  openssh: readonly OracleOutcome[],
  ours: readonly OracleOutcome[],
  into: Agreement = { units: 0, agreed: 0, mismatches: [] },
): Agreement {
  for (let i = 0; i < cases.length; i++) {
    const a = openssh[i]!, b = ours[i]!;
    if (a.status !== 0 || b.status !== 0) {
      into.units++;
      if ((a.status !== 0) === (b.status !== 0)) into.agreed++;
      else {
        into.mismatches.push({
          id: cases[i]!.id,
          keyword: "(outcome)",
          openssh: [a.status === 0 ? "ok" : `failed (${a.status})`],
          ours: [b.status === 0 ? "ok" : "failed"],
        });
      }
      continue;
    }
    const ma = byKeyword(a.stdout), mb = byKeyword(b.stdout);
    dropKnownQuirks(ma);
    for (const k of new Set([...ma.keys(), ...mb.keys()])) {
      into.units++;
      const va = ma.get(k) ?? [], vb = mb.get(k) ?? [];
      if (va.length === vb.length && va.every((v, j) => v === vb[j])) into.agreed++;
      else into.mismatches.push({ id: cases[i]!.id, keyword: k, openssh: va, ours: vb });
    }
  }
  return into;
}

/** "99.97% (12345 of 12349)". */
export function describe(a: Agreement): string {
  return `${
    (100 * a.agreed / Math.max(1, a.units)).toFixed(3)
  }% (${a.agreed} of ${a.units} keyword values)`;
}

/** Loads the hand-written corpus: `# oracle-host:` lines, `#@@file name` sections. */
export function loadCorpus(dir: string, files: readonly string[]): OracleCase[] {
  const out: OracleCase[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), "utf8");
    const parts = text.split(/^#@@file (.+)\n/m);
    const config = parts[0]!;
    const extra: Record<string, string> = {};
    for (let i = 1; i + 1 < parts.length; i += 2) extra[parts[i]!.trim()] = parts[i + 1]!;
    const v10 = /^# oracle-v10\b/m.test(config);
    const args = /^# oracle-args: (.*)$/m.exec(config)?.[1];
    const hosts = [...config.matchAll(/^# oracle-host: (.*)$/gm)].map((m) => m[1]!.trim());
    if (hosts.length === 0) hosts.push("oracle-host");
    for (const h of hosts) {
      let user: string | undefined;
      let port: number | undefined;
      const options: string[] = [];
      if (args) {
        const a = JSON.parse(args) as { user?: string; port?: number; options?: string[] };
        user = a.user;
        port = a.port;
        options.push(...(a.options ?? []));
      }
      out.push({ id: `${f} ${h}`, config, host: h, files: extra, user, port, options, v10 });
    }
  }
  return out;
}

/** True when this process should run the full generated set (one runtime only). */
export function fullRuntime(): boolean {
  const want = process.env.SSHTS_ORACLE_FULL_RUNTIME ?? "node";
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  const me = isDeno ? "deno" : isBun ? "bun" : "node";
  return want === "all" || want === me;
}

export { existsSync };
