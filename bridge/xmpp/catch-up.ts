// A join's catch-up, complete however long we were away. A room replays at most its history
// length on join (Prosody: the newest 20 messages since `since`): a bridge away for longer would
// silently miss the start of the gap. So what a join brings in is held until
// the replay is over; when the replay shows the room archives (its messages carry the room's
// stanza-ids), everything since the join's `since` is read from the room's archive (XEP-0313,
// paged with XEP-0059) and released first, in order, then the held messages the archive did not
// have (said while we paged). A room without an archive gets its replay as before.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { NS_DELAY, NS_SID, splitJid } from "./stanzas.ts";
import type { History } from "./types.ts";
import { xml, type XmlElement } from "./xmpp-js.ts";

export const NS_MAM = "urn:xmpp:mam:2";
const NS_RSM = "http://jabber.org/protocol/rsm";
const NS_FORWARD = "urn:xmpp:forward:0";
const NS_DATA = "jabber:x:data";

/** Archive errors that say the room has no archive for us: the replay is all there is. */
const NO_ARCHIVE = new Set(["feature-not-implemented", "service-unavailable", "forbidden", "not-allowed", "item-not-found"]);

export interface CatchUpDeps {
  room: string;
  request(stanza: XmlElement, timeoutMs: number): Promise<XmlElement>;
  /** The client's pipeline for one room message (reflections, authorship, the "message" event). */
  release(stanza: XmlElement): void;
  log: Logger;
  /** Messages asked per page (servers cap it: Prosody at max_archive_query_results, default 50). */
  pageSize?: number;
  /** Per page; default 30000 ms. */
  pageTimeoutMs?: number;
}

/** Why a catch-up did not complete: the join must be made again (what was released stays taken). */
export class CatchUpError extends Error {}

export class RoomCatchUp {
  readonly #d: CatchUpDeps;
  #since: Date | undefined;
  /** Messages held since the join presence went out; undefined when not holding. */
  #held: XmlElement[] | undefined;
  /** The archive query in flight, and what it brought so far. */
  #query: { id: string; results: XmlElement[] } | undefined;
  /** A new join or an abort makes an older finish() moot. */
  #generation = 0;

  constructor(deps: CatchUpDeps) {
    this.#d = deps;
  }

  /** A join presence is going out: hold what comes until finish(). */
  begin(history: History): void {
    this.#generation++;
    this.#since = "since" in history ? history.since : undefined;
    this.#held = [];
    this.#query = undefined;
  }

  /** The join is off (suspended, left, failed): drop what was held; the next join asks again since the same point. */
  abort(): void {
    this.#generation++;
    this.#held = undefined;
    this.#query = undefined;
  }

  /** Takes a room message while holding; false when not holding (the caller processes it). */
  hold(stanza: XmlElement): boolean {
    if (!this.#held) return false;
    this.#held.push(stanza);
    return true;
  }

  /** A stanza from the room's bare JID carrying an archive result: true when it was one of ours. */
  result(stanza: XmlElement): boolean {
    const r = stanza.getChild("result", NS_MAM);
    if (!r) return false;
    // Only the room itself answers an archive query: an occupant's message (from room/nick) is
    // an occupant's message, whatever it carries.
    if (splitJid(stanza.attrs.from ?? "")[1] !== undefined) return false;
    if (!this.#query || r.attrs.queryid !== this.#query.id || !r.attrs.id) return true;
    const fwd = r.getChild("forwarded", NS_FORWARD);
    const inner = fwd?.getChild("message");
    const stamp = fwd?.getChild("delay", NS_DELAY)?.attrs.stamp ?? inner?.getChild("delay", NS_DELAY)?.attrs.stamp;
    if (!inner || !stamp || splitJid(inner.attrs.from ?? "")[0].toLowerCase() !== this.#d.room.toLowerCase()) return true;
    // As the room would have sent it live: its stanza-id and its time, from the archive.
    const children = inner.children.filter((c) => typeof c === "string" || !(c.is("stanza-id", NS_SID) || c.is("delay", NS_DELAY)));
    this.#query.results.push(
      xml("message", inner.attrs, ...children, xml("delay", { xmlns: NS_DELAY, stamp }), xml("stanza-id", { xmlns: NS_SID, by: this.#d.room, id: r.attrs.id })),
    );
    return true;
  }

  /**
   * The replay is over: releases the catch-up in order and stops holding. Resolves false when a
   * newer join or an abort made this one moot; rejects with CatchUpError when the archive could
   * not be read now (the pages read so far are released; the join must be made again, and asks
   * from there).
   */
  async finish(): Promise<boolean> {
    const generation = this.#generation;
    const held = this.#held ?? [];
    const since = this.#since;
    const archived = since !== undefined && held.some((s) => s.getChild("delay", NS_DELAY) && s.getChildren("stanza-id", NS_SID).length > 0);
    if (!archived) return this.#release(generation);
    // Each page is released as it comes (in order): a catch-up cut short later resumes after it,
    // since the next join asks from the last message taken.
    const released = new Set<string>();
    let after: string | undefined;
    let pages = 0;
    let count = 0;
    for (;;) {
      const id = randomUUID();
      this.#query = { id, results: [] };
      let fin: XmlElement | undefined;
      try {
        const answer = await this.#d.request(archiveQuery(this.#d.room, id, since, after, this.#d.pageSize ?? 100), this.#d.pageTimeoutMs ?? 30_000);
        fin = answer.getChild("fin", NS_MAM);
      } catch (err) {
        if (generation !== this.#generation) return false;
        const condition = (err as { condition?: string }).condition;
        if (condition !== undefined && NO_ARCHIVE.has(condition) && pages === 0) {
          this.#d.log.warn({ room: this.#d.room, condition }, "the room refused an archive query: the catch-up is its join history only");
          return this.#release(generation);
        }
        this.abort();
        throw new CatchUpError(`reading the room's archive failed: ${(err as Error).message}`);
      }
      if (generation !== this.#generation) return false;
      const page = this.#query.results;
      for (const m of page) {
        const sid = roomStanzaId(m);
        if (sid !== undefined && released.has(sid)) continue;
        if (sid !== undefined) released.add(sid);
        this.#d.release(m);
      }
      pages++;
      count += page.length;
      const last = fin?.getChild("set", NS_RSM)?.getChildText("last") ?? undefined;
      if (!fin || fin.attrs.complete === "true" || page.length === 0 || !last || last === after) break;
      after = last;
    }
    this.#d.log.info({ room: this.#d.room, messages: count, pages, since }, "caught up from the room's archive");
    return this.#release(generation, released);
  }

  /** Releases the held messages the archive did not bring (`released`: their stanza-ids); holding ends here. */
  #release(generation: number, released: ReadonlySet<string> = new Set()): boolean {
    if (generation !== this.#generation) return false;
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#query = undefined;
    for (const s of held) {
      const sid = roomStanzaId(s);
      if (sid === undefined || !released.has(sid)) this.#d.release(s);
    }
    return true;
  }
}

function roomStanzaId(s: XmlElement): string | undefined {
  const room = splitJid(s.attrs.from ?? "")[0].toLowerCase();
  return s.getChildren("stanza-id", NS_SID).find((e) => (e.attrs.by ?? "").toLowerCase() === room)?.attrs.id;
}

/** XEP-0313 query of a room's groupchat archive from `since`, one page after `after`. */
export function archiveQuery(room: string, queryId: string, since: Date, after: string | undefined, max: number): XmlElement {
  return xml(
    "iq",
    { type: "set", to: room },
    xml(
      "query",
      { xmlns: NS_MAM, queryid: queryId },
      xml(
        "x",
        { xmlns: NS_DATA, type: "submit" },
        xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, NS_MAM)),
        xml("field", { var: "start" }, xml("value", {}, since.toISOString())),
      ),
      xml("set", { xmlns: NS_RSM }, xml("max", {}, String(max)), after !== undefined && xml("after", {}, after)),
    ),
  );
}
