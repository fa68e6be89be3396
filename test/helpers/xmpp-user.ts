// A plain XMPP user for tests (xmpp.js, PLAIN auth, no reconnect), e.g. a human in the room.
//
//   const alice = await XmppUser.connect(server, "alice", "pw");   // server from startProsody()
//   t.after(() => alice.stop());
//   await alice.join(`dev@${server.muc}`, "alice");               // resolves on status 110
//   await alice.say(`dev@${server.muc}`, "hello");                // resolves when reflected
//   const m = await alice.waitFor((m) => m.body === "hi" && m);   // any message seen so far or later
//   alice.messages                                                 // every groupchat message, in order
//   await alice.kick(room, "bridge")                               // moderator only (room creators are owners)
//   await alice.configureRoom(room, { "muc#roomconfig_roomsecret": "pw" })  // owner only
//   await alice.waitForStanza((s) => s.is("presence") && s)        // raw stanzas, same rules
//   await alice.archive(room, since)                               // the room's archive (XEP-0313), every page
//
// waitFor/waitForStanza look at everything received so far (only what arrives from now on with
// {fromNow: true}), then at what arrives, and reject after the timeout (a number, or {timeout};
// default 10 s) so that a broken test fails instead of hanging.
import { randomUUID } from "node:crypto";
import { archiveQuery, NS_MAM } from "../../bridge/xmpp/catch-up.ts";
import { parseGroupchat, NS_DELAY, NS_MUC, NS_MUC_USER, NS_SID } from "../../bridge/xmpp/stanzas.ts";
import type { RoomMessage } from "../../bridge/xmpp/types.ts";
import { watchStreamManagement, xml, xmppClient, type XmlElement, type XmppJsClient } from "../../bridge/xmpp/xmpp-js.ts";

export type UserMessage = Omit<RoomMessage, "own" | "jid">;

type Waiter = { check: () => boolean };

/**
 * A timeout in ms (default 10 s), or options; `fromNow` ignores what was received before the
 * call, `from: i` what came before the i-th item (cheaper than a predicate calling indexOf,
 * which is quadratic over a long run).
 */
export type WaitOptions = number | { timeout?: number; fromNow?: boolean; from?: number };

export class XmppUser {
  readonly jid: string;
  readonly xmpp: XmppJsClient;
  readonly messages: UserMessage[] = [];
  readonly stanzas: XmlElement[] = [];
  #waiters = new Set<Waiter>();

  private constructor(jid: string, xmpp: XmppJsClient) {
    this.jid = jid;
    this.xmpp = xmpp;
    xmpp.on("stanza", (stanza: XmlElement) => {
      this.stanzas.push(stanza);
      const msg = parseGroupchat(stanza, new Date());
      if (msg) this.messages.push(msg);
      for (const w of this.#waiters) w.check();
    });
    xmpp.on("error", () => undefined); // a test user's socket errors show up as failed waits
  }

  static async connect(server: { service: string; domain: string }, name: string, password: string): Promise<XmppUser> {
    const xmpp = xmppClient({
      service: server.service,
      domain: server.domain,
      resource: `test-${randomUUID().slice(0, 8)}`,
      credentials: (auth) => auth({ username: name, password }, "PLAIN"),
    });
    const smSettled = watchStreamManagement(xmpp);
    await xmpp.start();
    await smSettled();
    return new XmppUser(`${name}@${server.domain}`, xmpp);
  }

  /** Joins and resolves on the self-presence (110); `history` defaults to none. */
  async join(room: string, nick: string, opts: { maxstanzas?: number } = {}): Promise<void> {
    const self = this.waitForStanza(
      (s) => s.is("presence") && s.attrs.from === `${room}/${nick}` && (selfPresence(s) || s.attrs.type === "error") && s,
    );
    await this.xmpp.send(
      xml("presence", { to: `${room}/${nick}` }, xml("x", { xmlns: NS_MUC }, xml("history", { maxstanzas: String(opts.maxstanzas ?? 0) }))),
    );
    const answer = await self;
    if (answer.attrs.type === "error") throw new Error(`${this.jid} could not join ${room}/${nick}: ${answer.toString()}`);
  }

  /** Sends a groupchat message and resolves when the room reflected it. */
  async say(room: string, body: string, opts: { originId?: string } = {}): Promise<string> {
    const id = opts.originId ?? randomUUID();
    const seen = this.messages.length;
    const reflected = this.waitFor((m) => m.originId === id && m, { from: seen });
    await this.xmpp.send(
      xml("message", { to: room, type: "groupchat", id }, xml("body", {}, body), xml("origin-id", { xmlns: NS_SID, id })),
    );
    await reflected;
    return id;
  }

  /** Kicks an occupant (role none); needs moderator rights. */
  async kick(room: string, nick: string, reason = "test"): Promise<void> {
    await this.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set", to: room },
        xml("query", { xmlns: "http://jabber.org/protocol/muc#admin" }, xml("item", { nick, role: "none" }, xml("reason", {}, reason))),
      ),
    );
  }

  /** Submits the room configuration form (owner only), e.g. {"muc#roomconfig_roomsecret": "pw"}. */
  async configureRoom(room: string, fields: Record<string, string>): Promise<void> {
    const field = (name: string, value: string) => xml("field", { var: name }, xml("value", {}, value));
    await this.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set", to: room },
        xml(
          "query",
          { xmlns: "http://jabber.org/protocol/muc#owner" },
          xml(
            "x",
            { xmlns: "jabber:x:data", type: "submit" },
            field("FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig"),
            ...Object.entries(fields).map(([name, value]) => field(name, value)),
          ),
        ),
      ),
    );
  }

  /** The room's archive since `since` (XEP-0313, every page), in order, as its messages would have come. */
  async archive(room: string, since: Date): Promise<UserMessage[]> {
    const out: UserMessage[] = [];
    let after: string | undefined;
    for (;;) {
      const queryid = randomUUID();
      const seen = this.stanzas.length;
      const answer = await this.xmpp.iqCaller.request(archiveQuery(room, queryid, since, after, 100), 30_000);
      const page = this.stanzas.slice(seen).flatMap((s) => {
        const r = s.getChild("result", NS_MAM);
        const fwd = r?.attrs.queryid === queryid ? r.getChild("forwarded", "urn:xmpp:forward:0") : undefined;
        const inner = fwd?.getChild("message");
        const stamp = fwd?.getChild("delay", NS_DELAY)?.attrs.stamp;
        const msg = inner && stamp ? parseGroupchat(inner, new Date(stamp)) : undefined;
        return msg ? [{ ...msg, stanzaId: r!.attrs.id, delayed: new Date(stamp!), time: new Date(stamp!) }] : [];
      });
      out.push(...page);
      const fin = answer.getChild("fin", NS_MAM);
      const last = fin?.getChild("set", "http://jabber.org/protocol/rsm")?.getChildText("last") ?? undefined;
      if (!fin || fin.attrs.complete === "true" || page.length === 0 || !last) return out;
      after = last;
    }
  }

  waitFor<T>(predicate: (m: UserMessage) => T | undefined | null | false, opts?: WaitOptions): Promise<T> {
    return this.#wait(() => this.messages, predicate, opts, "message");
  }

  waitForStanza<T>(predicate: (s: XmlElement) => T | undefined | null | false, opts?: WaitOptions): Promise<T> {
    return this.#wait(() => this.stanzas, predicate, opts, "stanza");
  }

  async stop(): Promise<void> {
    await this.xmpp.stop().catch(() => undefined);
  }

  #wait<I, T>(items: () => I[], predicate: (item: I) => T | undefined | null | false, opts: WaitOptions | undefined, what: string): Promise<T> {
    const { timeout = 10_000, fromNow = false, from = 0 } = typeof opts === "number" ? { timeout: opts } : (opts ?? {});
    return new Promise<T>((resolve, reject) => {
      let next = fromNow ? items().length : from;
      const waiter: Waiter = {
        check: () => {
          const list = items();
          for (; next < list.length; next++) {
            const hit = predicate(list[next]!);
            if (hit) {
              done();
              resolve(hit);
              return true;
            }
          }
          return false;
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.jid}: no matching ${what} within ${timeout} ms (${items().length} seen)`));
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      this.#waiters.add(waiter);
      waiter.check();
    });
  }
}

function selfPresence(stanza: XmlElement): boolean {
  return !!stanza.getChild("x", NS_MUC_USER)?.getChildren("status").some((s) => s.attrs.code === "110");
}
