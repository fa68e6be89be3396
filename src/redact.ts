// Keeps secrets out of logs: tokens in URLs, caller-declared secrets, credentials in error messages.

const CENSOR = "[Redacted]";

/** Query parameter names whose values are credentials (matched case-insensitively, by substring). */
const SECRET_PARAM = /token|secret|passw|pwd|session|sid$|^sig|signature|auth|key|ticket|code$|ptwebqq|vfwebqq|skey|cookie/i;
/** Telegram-style bot tokens (`bot123456:AA...`) anywhere in a path or message. */
const BOT_TOKEN = /bot\d+:[\w-]+/g;
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

function replaceSecrets(text: string, secrets: readonly string[] | undefined): string {
  if (secrets === undefined) return text;
  for (const secret of secrets) {
    // One- or two-character "secrets" would shred every log line; they are not secrets.
    if (typeof secret !== "string" || secret.length < 3) continue;
    if (text.includes(secret)) text = text.replaceAll(secret, CENSOR);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret && text.includes(encoded)) text = text.replaceAll(encoded, CENSOR);
  }
  return text;
}

/**
 * A URL safe to log: user info, bot tokens in the path, credential-like query parameters
 * and every string in `secrets` are replaced by "[Redacted]". Never throws.
 */
export function redactUrl(url: string | URL, secrets?: readonly string[]): string {
  let u: URL;
  try {
    u = typeof url === "string" ? new URL(url) : new URL(url.href);
  } catch {
    return replaceSecrets(String(url).replace(BOT_TOKEN, "bot" + CENSOR), secrets);
  }
  if (u.username !== "" || u.password !== "") {
    u.username = "";
    u.password = "";
  }
  let out = u.origin === "null" ? u.protocol + "//" + u.host : u.origin;
  out += u.pathname.replace(BOT_TOKEN, "bot" + CENSOR);
  if (u.search !== "") {
    let first = true;
    for (const [name, value] of u.searchParams) {
      out += (first ? "?" : "&") + encodeURIComponent(name) + "=" + (SECRET_PARAM.test(name) && value !== "" ? CENSOR : encodeURIComponent(value));
      first = false;
    }
  }
  return replaceSecrets(out, secrets);
}

/** Free text (an error message) with every URL in it redacted and every secret removed. */
export function redactText(text: string, secrets?: readonly string[]): string {
  const withoutUrls = text.replace(URL_IN_TEXT, (m) => redactUrl(m, secrets)).replace(BOT_TOKEN, "bot" + CENSOR);
  return replaceSecrets(withoutUrls, secrets);
}

/** An error as a plain object safe to log: name, code, status and a redacted message. */
export function redactError(err: unknown, secrets?: readonly string[]): Record<string, unknown> {
  if (err === null || typeof err !== "object") return { message: redactText(String(err), secrets) };
  const e = err as { name?: unknown; code?: unknown; status?: unknown; message?: unknown; cause?: unknown };
  const out: Record<string, unknown> = {
    type: typeof e.name === "string" ? e.name : "Error",
    message: redactText(typeof e.message === "string" ? e.message : String(err), secrets),
  };
  if (e.code !== undefined) out.code = e.code;
  if (typeof e.status === "number") out.status = e.status;
  if (e.cause !== undefined && e.cause !== err) {
    const c = e.cause as { code?: unknown; message?: unknown };
    if (c !== null && typeof c === "object") {
      out.cause = { code: c.code, message: redactText(typeof c.message === "string" ? c.message : "", secrets) };
    }
  }
  return out;
}

/** pino `redact` paths for loggers the caller builds: headers and credential fields. */
export const redactPaths: string[] = [
  "headers.cookie",
  "headers.authorization",
  'headers["set-cookie"]',
  "*.headers.cookie",
  "*.headers.authorization",
  '*.headers["set-cookie"]',
  "cookie",
  "authorization",
  "password",
  "*.password",
  "token",
  "*.token",
  "access_token",
  "*.access_token",
  "secret",
  "*.secret",
];
