// A real Prosody 0.12 per test file: temp dir, free loopback ports, MUC component with room
// locking off and MAM (mod_muc_mam: the room gives every message a XEP-0359 stanza-id, and
// replays history from its archive), an HTTP File Upload component (mod_http_file_share, plain
// http on loopback), users registered with prosodyctl, ready when the log says the services are
// active.
//
//   const server = await startProsody({ users: { bridge: "pw", alice: "pw" } });
//   t.after(() => server.stop());
//   server.service  // "xmpp://127.0.0.1:PORT", server.muc // "conference.localhost"
//
// Without prosody on PATH: throws when CI is set (never a silent skip there); otherwise use
// `prosodyMissing()` to skip with a clear message.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ProsodyOptions {
  /** name → password, registered on the "localhost" host. */
  users?: Record<string, string>;
  /**
   * STARTTLS required on c2s with a self-signed certificate for "localhost", generated for this
   * server (`server.certificate` holds its PEM). Default: no TLS module, plain c2s.
   */
  tls?: boolean;
  /** XMPP over WebSocket (RFC 7395, mod_websocket) on a plain HTTP port: `server.websocketService`. */
  websocket?: boolean;
  /** mod_muc_mam on the MUC (stanza-ids, archive-backed history); default true. */
  mam?: boolean;
  /**
   * Where room archives live: "internal" (files, the default: they outlive a restart) or
   * "memory" (100,000 messages a room, gone at a restart; for long runs: the file store rewrites
   * a room's whole archive file whenever it passes its 10,000-message quota).
   */
  archive?: "internal" | "memory";
  /** The HTTP File Upload component (upload.localhost); default true. */
  upload?: boolean;
  /** The upload service's max file size in bytes (http_file_share_size_limit); default 1 MiB. */
  uploadSizeLimit?: number;
}

export interface ProsodyServer {
  domain: "localhost";
  muc: "conference.localhost";
  /** XEP-0363 upload service (mod_http_file_share), found by disco#items on `domain` (unless `upload: false`). */
  upload: "upload.localhost";
  /** Plain HTTP port of the upload service (and of mod_websocket when asked). */
  httpPort: number;
  /** External component domain (XEP-0114), secret `componentSecret`. */
  component: "bridge.localhost";
  componentSecret: string;
  c2sPort: number;
  componentPort: number;
  service: string;
  dir: string;
  /** PEM of the self-signed certificate when started with `tls: true`. */
  certificate?: string;
  /** With `tls: true`: "xmpps://127.0.0.1:PORT", direct TLS (XEP-0368) with the same certificate. */
  directTlsService?: string;
  /** With `websocket: true`: "ws://127.0.0.1:PORT/xmpp-websocket". */
  websocketService?: string;
  /** Clean shutdown (SIGTERM, waits for exit). Removes the temp dir unless `keepDir`. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  /** Stop and start again on the same ports with the same data. */
  restart(): Promise<void>;
  /** SIGKILL without waiting: the server vanishes at once, as on a crash. */
  kill(): void;
  /** Start again after kill()/stop({keepDir: true}). */
  start(): Promise<void>;
  register(user: string, password: string): Promise<void>;
  /** Changes a user's password on the running server (sessions already logged in stay). */
  setPassword(user: string, password: string): Promise<void>;
  /** Run one command in Prosody's admin shell (mod_admin_shell), returns its output. */
  shell(command: string): Promise<string>;
  /**
   * Makes the MUC forget an occupant without telling anyone (no presence is sent), as a remote
   * MUC service that restarted would: only XEP-0410 self-ping can notice.
   */
  forgetOccupant(room: string, nick: string): Promise<void>;
  /** The server's log so far (stdout + stderr). */
  log(): string;
}

/** Why Prosody cannot be used here, or undefined when it can. Throws under CI (no silent skip). */
export async function prosodyMissing(): Promise<string | undefined> {
  try {
    await run("sh", ["-c", "command -v prosody && command -v prosodyctl"]);
    return undefined;
  } catch {
    const why = "prosody is not installed (apt-get install prosody lua-unbound)";
    if (process.env.CI) throw new Error(`${why}: required under CI`);
    return why;
  }
}

/** A free loopback TCP port (bound once and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

interface ConfigParams {
  dir: string;
  c2sPort: number;
  componentPort: number;
  secret: string;
  /** Paths of the certificate and key: STARTTLS on and required, and direct TLS on that port. */
  tls?: { certificate: string; key: string; directPort: number };
  /** Plain HTTP port: the upload service, and mod_websocket when `websocket`. */
  httpPort: number;
  websocket: boolean;
  mam: boolean;
  archive: "internal" | "memory";
  upload: boolean;
  uploadSizeLimit: number;
}

function config({ dir, c2sPort, componentPort, secret, tls, httpPort, websocket, mam, archive, upload, uploadSizeLimit }: ConfigParams): string {
  return `
data_path = "${dir}/data"
pidfile = "${dir}/prosody.pid"
certificates = "${dir}/data"
run_as_root = true
log = { { levels = { min = "info" }, to = "console" } }
interfaces = { "127.0.0.1" }
c2s_ports = { ${c2sPort} };  c2s_interfaces = { "127.0.0.1" }
${tls ? `c2s_direct_tls_ports = { ${tls.directPort} }; c2s_direct_tls_interfaces = { "127.0.0.1" }
c2s_direct_tls_ssl = { certificate = ${luaString(tls.certificate)}; key = ${luaString(tls.key)} }` : ""}
component_ports = { ${componentPort} };  component_interfaces = { "127.0.0.1" }
http_ports = { ${httpPort} }; http_interfaces = { "127.0.0.1" }; https_ports = { }
admin_socket = "${dir}/admin.sock"
modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "smacks"; "admin_shell"${tls ? '; "tls"' : ""}${websocket ? '; "websocket"' : ""} }
modules_disabled = { "s2s"; "offline" }
authentication = "internal_hashed"
${archive === "memory" ? `default_storage = "internal"
storage = { muc_log = "memory" }
storage_archive_item_limit = 100000` : `storage = "internal"`}
c2s_require_encryption = ${tls ? "true" : "false"}
allow_unencrypted_plain_auth = ${tls ? "false" : "true"}
allow_registration = false
smacks_hibernation_time = 30
VirtualHost "localhost"
${tls ? `  ssl = { certificate = ${luaString(tls.certificate)}; key = ${luaString(tls.key)} }` : ""}
Component "conference.localhost" "muc"
  muc_room_locking = false
${mam ? `  modules_enabled = { "muc_mam" }
  max_archive_query_results = 100` : ""}
${upload ? `-- URLs name 127.0.0.1 (not upload.localhost, which need not resolve); the routing host matches.
Component "upload.localhost" "http_file_share"
  http_host = "127.0.0.1"
  http_file_share_size_limit = ${uploadSizeLimit}
  http_file_share_daily_quota = ${uploadSizeLimit * 100}` : ""}
Component "bridge.localhost"
  component_secret = "${secret}"
`;
}

function luaString(s: string): string {
  return JSON.stringify(s); // a JSON string of plain JIDs or paths is a valid Lua string literal
}

/** Prosody without LuaSec starts anyway and offers no STARTTLS: a TLS test must fail, not pass plain. */
async function requireLuaSec(cfg: string): Promise<void> {
  const { stdout } = await run("prosodyctl", ["--config", cfg, "about"]);
  if (!/^LuaSec:\s+\d/m.test(stdout)) throw new Error(`Prosody has no LuaSec, so no TLS (apt-get install lua-sec):\n${stdout}`);
}

/**
 * A self-signed certificate for "localhost" (openssl comes with Prosody: prosody → ssl-cert →
 * openssl), valid for a day. Node's crypto can sign but not build an X.509 certificate.
 */
async function selfSignedCertificate(dir: string): Promise<{ certificate: string; key: string }> {
  const certificate = join(dir, "localhost.crt");
  const key = join(dir, "localhost.key");
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost",
  ]).catch((err: Error) => {
    throw new Error(`startProsody({ tls: true }) needs openssl to make a test certificate: ${err.message}`);
  });
  return { certificate, key };
}

export async function startProsody(opts: ProsodyOptions = {}): Promise<ProsodyServer> {
  const missing = await prosodyMissing();
  if (missing) throw new Error(missing);
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-prosody-"));
  const [c2sPort, componentPort] = [await freePort(), await freePort()];
  const secret = "component-secret";
  const cfg = join(dir, "prosody.cfg.lua");
  const tls = opts.tls ? { ...(await selfSignedCertificate(dir)), directPort: await freePort() } : undefined;
  const httpPort = await freePort();
  const upload = opts.upload ?? true;
  await writeFile(
    cfg,
    config({
      dir,
      c2sPort,
      componentPort,
      secret,
      ...(tls ? { tls } : {}),
      httpPort,
      websocket: opts.websocket ?? false,
      mam: opts.mam ?? true,
      archive: opts.archive ?? "internal",
      upload,
      uploadSizeLimit: opts.uploadSizeLimit ?? 1024 * 1024,
    }),
  );

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = "";

  const register = async (user: string, password: string) => {
    await run("prosodyctl", ["--config", cfg, "register", user, "localhost", password]);
  };

  const start = async () => {
    await exited; // after kill(): the old process must be gone before the ports are reused
    if (child) throw new Error("prosody already running");
    const proc = spawn("prosody", ["-F", "--config", cfg], { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    exited = new Promise((resolve) => proc.once("exit", () => resolve()));
    void exited.then(() => {
      if (child === proc) child = undefined;
    });
    const from = output.length; // a restart must not be satisfied by the previous run's lines
    await new Promise<void>((resolve, reject) => {
      const wanted = [`'c2s' on [127.0.0.1]:${c2sPort}`, `'component' on [127.0.0.1]:${componentPort}`];
      // The host's certificate line may come after the c2s line.
      if (tls) wanted.push("\nlocalhost:tls ", `'c2s_direct_tls' on [127.0.0.1]:${tls.directPort}`);
      // Prosody opens the HTTP port only when a module serves HTTP.
      if (upload || opts.websocket) wanted.push(`'http' on [127.0.0.1]:${httpPort}`);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (wanted.every((w) => output.includes(w, from))) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`prosody exited (${code}) before it was ready:\n${output}`));
      };
      const cleanup = () => {
        proc.stdout!.off("data", onData);
        proc.off("exit", onExit);
      };
      proc.stdout!.on("data", onData);
      proc.once("exit", onExit);
    });
    // Keep draining its pipes so it never blocks on a full pipe.
    proc.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  };

  const halt = async () => {
    const proc = child;
    if (!proc) return;
    proc.kill("SIGTERM");
    await exited;
  };

  for (const [user, password] of Object.entries(opts.users ?? {})) await register(user, password);
  if (tls) await requireLuaSec(cfg);
  await start();
  if (tls && !/^localhost:tls\s+info\s+Certificates loaded/m.test(output)) {
    await halt();
    throw new Error(`Prosody did not load the TLS certificate:\n${output}`);
  }

  return {
    domain: "localhost",
    muc: "conference.localhost",
    upload: "upload.localhost",
    httpPort,
    component: "bridge.localhost",
    componentSecret: secret,
    c2sPort,
    componentPort,
    service: `xmpp://127.0.0.1:${c2sPort}`,
    dir,
    ...(tls ? { certificate: await readFile(tls.certificate, "utf8"), directTlsService: `xmpps://127.0.0.1:${tls.directPort}` } : {}),
    ...(opts.websocket ? { websocketService: `ws://127.0.0.1:${httpPort}/xmpp-websocket` } : {}),
    async stop(stopOpts) {
      await halt();
      if (!stopOpts?.keepDir) await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await halt();
      await start();
    },
    kill() {
      child?.kill("SIGKILL");
    },
    start,
    register,
    async setPassword(user, password) {
      const { stdout } = await run("prosodyctl", ["--config", cfg, "shell", `user:password(${luaString(`${user}@localhost`)}, ${luaString(password)})`]);
      if (!/OK/.test(stdout)) throw new Error(`setPassword(${user}): ${stdout.trim()}`);
    },
    async shell(command) {
      const { stdout } = await run("prosodyctl", ["--config", cfg, "shell", command]);
      return stdout;
    },
    async forgetOccupant(room, nick) {
      const lua = [
        `>local r = prosody.hosts[${luaString(room.split("@")[1]!)}].modules.muc.get_room_from_jid(${luaString(room)})`,
        `local o = r and r:get_occupant_by_nick(${luaString(`${room}/${nick}`)})`,
        `if not o then return "no such occupant" end`,
        `for jid in o:each_session() do r._jid_nick[jid] = nil end`,
        `r._occupants[o.nick] = nil`,
        `return "forgotten"`,
      ].join("; ");
      const { stdout } = await run("prosodyctl", ["--config", cfg, "shell", lua]);
      if (!stdout.includes("forgotten")) throw new Error(`forgetOccupant(${room}, ${nick}): ${stdout.trim()}`);
    },
    log: () => output,
  };
}
