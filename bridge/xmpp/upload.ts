// XEP-0363 HTTP File Upload: find the server's upload service by service discovery (disco#items
// on the domain, disco#info feature urn:xmpp:http:upload:0 with its max-file-size), ask it for a
// slot, PUT the bytes with undici, hand back the GET URL. The PUT URL and its headers carry the
// slot's credentials (a bearer token on Prosody): they are never logged nor put in an error.
import { request } from "undici";
import { isLoopbackHost } from "../config/loopback.ts";
import { isHttpUrl } from "./rich.ts";
import { xml, type XmlElement } from "./xmpp-js.ts";

export const NS_UPLOAD = "urn:xmpp:http:upload:0";
const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_DATA = "jabber:x:data";

/** XEP-0363 §5: the only headers a slot may ask for; others are dropped. */
const ALLOWED_HEADERS = new Set(["authorization", "cookie", "expires"]);

export type UploadFailure =
  | "no-service" // the server has no upload service (or it cannot be discovered)
  | "too-large" // over the service's max-file-size: never uploadable there
  | "refused" // the service refused the slot or the PUT (4xx): this file will not go
  | "failed"; // transport trouble, a timeout or a 5xx: may work later

export class XmppUploadError extends Error {
  readonly reason: UploadFailure;
  constructor(reason: UploadFailure, message: string) {
    super(message);
    this.name = "XmppUploadError";
    this.reason = reason;
  }
}

export interface UploadServiceInfo {
  jid: string;
  /** Bytes; undefined when the service states no limit. */
  maxFileSize?: number;
}

export interface UploadFile {
  data: Uint8Array;
  name: string;
  mime: string;
}

/** What upload needs from the connection: an IQ round trip (rejects with the stanza error). */
export type IqRequest = (stanza: XmlElement, timeout: number) => Promise<XmlElement>;

export interface UploadOptions {
  timeout: number;
  /** A plain-http PUT is allowed only to a loopback host unless this is true (xmpp.tls "off"). */
  allowPlainHttp: boolean;
}

/** Finds the upload service among the domain's items; throws XmppUploadError("no-service") when there is none. */
export async function discoverUploadService(iq: IqRequest, domain: string, timeout: number): Promise<UploadServiceInfo> {
  // The domain itself may offer it; otherwise one of its items (Prosody: a component).
  const candidates = [domain];
  try {
    const items = await iq(xml("iq", { type: "get", to: domain }, xml("query", { xmlns: NS_DISCO_ITEMS })), timeout);
    for (const item of items.getChild("query", NS_DISCO_ITEMS)?.getChildren("item") ?? []) {
      if (item.attrs.jid && !item.attrs.node && !candidates.includes(item.attrs.jid)) candidates.push(item.attrs.jid);
    }
  } catch (err) {
    if (!isStanzaError(err)) throw transportError("disco#items", err);
  }
  // Asked all at once: an item that never answers (Prosody: an external component that is not
  // connected) costs one timeout, and is not an upload service.
  const infos = await Promise.allSettled(candidates.map((jid) => iq(xml("iq", { type: "get", to: jid }, xml("query", { xmlns: NS_DISCO_INFO })), timeout)));
  const silent: string[] = [];
  for (const [k, outcome] of infos.entries()) {
    if (outcome.status === "rejected") {
      if (!isStanzaError(outcome.reason)) silent.push(candidates[k]!);
      continue;
    }
    const query = outcome.value.getChild("query", NS_DISCO_INFO);
    if (!query?.getChildren("feature").some((f) => f.attrs.var === NS_UPLOAD)) continue;
    const maxFileSize = maxFileSizeOf(query);
    return { jid: candidates[k]!, ...(maxFileSize !== undefined ? { maxFileSize } : {}) };
  }
  const unanswered = silent.length ? ` (no disco#info answer from ${silent.join(", ")})` : "";
  throw new XmppUploadError("no-service", `${domain} offers no HTTP File Upload service (XEP-0363 ${NS_UPLOAD}) among its disco#items${unanswered}`);
}

/** max-file-size from the service's XEP-0128 form (FORM_TYPE urn:xmpp:http:upload:0). */
function maxFileSizeOf(query: XmlElement): number | undefined {
  for (const form of query.getChildren("x", NS_DATA)) {
    const fields = form.getChildren("field");
    if (fields.find((f) => f.attrs.var === "FORM_TYPE")?.getChildText("value") !== NS_UPLOAD) continue;
    const value = fields.find((f) => f.attrs.var === "max-file-size")?.getChildText("value")?.trim();
    if (value && /^\d{1,15}$/.test(value)) return Number(value);
  }
  return undefined;
}

/** Uploads through `service` and resolves with the GET URL. */
export async function uploadFile(iq: IqRequest, service: UploadServiceInfo, file: UploadFile, opts: UploadOptions): Promise<string> {
  const size = file.data.byteLength;
  if (service.maxFileSize !== undefined && size > service.maxFileSize) {
    throw new XmppUploadError("too-large", `${file.name} (${size} bytes) is over the upload limit of ${service.jid} (${service.maxFileSize} bytes)`);
  }
  const slot = await requestSlot(iq, service, file, opts.timeout);
  const put = new URL(slot.put);
  if (put.protocol !== "https:" && !(put.protocol === "http:" && (opts.allowPlainHttp || isLoopbackHost(put.hostname)))) {
    throw new XmppUploadError("refused", `${service.jid} gave a ${put.protocol} upload URL on ${put.hostname}: only https (or http on loopback) may carry the slot's credentials`);
  }
  let status: number;
  try {
    const res = await request(put, {
      method: "PUT",
      body: file.data,
      headers: { ...slot.headers, "content-type": file.mime, "content-length": String(size) },
      signal: AbortSignal.timeout(opts.timeout),
    });
    status = res.statusCode;
    await res.body.dump();
  } catch (err) {
    throw new XmppUploadError("failed", `uploading ${file.name} to ${put.host} failed: ${(err as Error).message}`);
  }
  if (status === 200 || status === 201) return slot.get;
  const reason = status === 413 ? "too-large" : status >= 400 && status < 500 && status !== 408 && status !== 429 ? "refused" : "failed";
  throw new XmppUploadError(reason, `uploading ${file.name} to ${put.host} failed: HTTP ${status}`);
}

interface Slot {
  put: string;
  get: string;
  headers: Record<string, string>;
}

async function requestSlot(iq: IqRequest, service: UploadServiceInfo, file: UploadFile, timeout: number): Promise<Slot> {
  let answer: XmlElement;
  try {
    answer = await iq(
      xml("iq", { type: "get", to: service.jid }, xml("request", { xmlns: NS_UPLOAD, filename: file.name, size: String(file.data.byteLength), "content-type": file.mime })),
      timeout,
    );
  } catch (err) {
    if (!isStanzaError(err)) throw transportError("slot request", err);
    // <file-too-large><max-file-size>N</max-file-size></file-too-large> is the error's application element (XEP-0363 §4).
    const tooLarge = err.application?.is("file-too-large", NS_UPLOAD) ? err.application : err.element?.getChild("file-too-large", NS_UPLOAD);
    if (tooLarge) {
      const limit = tooLarge.getChildText("max-file-size")?.trim();
      throw new XmppUploadError("too-large", `${service.jid} refused ${file.name} (${file.data.byteLength} bytes) as too large${limit ? ` (max ${limit} bytes)` : ""}`);
    }
    const why = `${service.jid} refused an upload slot for ${file.name}: ${err.condition}${err.text ? ` (${err.text})` : ""}`;
    throw new XmppUploadError(err.type === "wait" ? "failed" : "refused", why);
  }
  const slot = answer.getChild("slot", NS_UPLOAD);
  const put = slot?.getChild("put")?.attrs.url;
  const get = slot?.getChild("get")?.attrs.url;
  if (!put || !get || !isHttpUrl(put) || !isHttpUrl(get)) {
    throw new XmppUploadError("refused", `${service.jid} answered the slot request for ${file.name} without usable put/get URLs`);
  }
  const headers: Record<string, string> = {};
  for (const header of slot!.getChild("put")!.getChildren("header")) {
    const name = header.attrs.name?.toLowerCase();
    // Newlines in a header value would let the service inject headers (XEP-0363 §5): dropped.
    if (name && ALLOWED_HEADERS.has(name)) headers[name] = header.text().replace(/[\r\n]/g, "");
  }
  return { put, get, headers };
}

/** xmpp.js's StanzaError: `element` is the <error/>, `application` its application-specific child. */
interface StanzaErrorLike {
  name: "StanzaError";
  condition: string;
  text?: string;
  type?: string;
  application?: XmlElement;
  element?: XmlElement;
}

function isStanzaError(err: unknown): err is StanzaErrorLike {
  return (err as Error | undefined)?.name === "StanzaError";
}

function transportError(step: string, err: unknown): XmppUploadError {
  return new XmppUploadError("failed", `XEP-0363 ${step} got no answer: ${(err as Error).message}`);
}

