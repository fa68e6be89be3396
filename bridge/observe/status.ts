// /status.json: what the status page shows, gathered from the relay's health, the outbox and the
// activity recorder. States are the words /healthz uses.
import type { Config } from "../config/types.ts";
import type { RelayHealth } from "../relay/relay.ts";
import { groupTargetKey, roomTargetKey } from "../relay/target.ts";
import type { Outbox } from "../store/outbox.ts";
import type { ActivityRecorder, RecentRelay } from "./recorder.ts";

export interface StatusReport {
  ok: boolean;
  generated_at: string;
  networks: Record<string, { type: string; ok: boolean; state: string; detail?: string; last_event?: string; qr?: string }>;
  rooms: Record<string, { state: string; reason?: string; last_seen?: string }>;
  bridges: {
    room: string;
    links: { network: string; group: string }[];
    relayed_last_hour: { to_xmpp: number; to_network: number };
    targets: { target: string; pending: number; dead_letters: number }[];
  }[];
  recent: (Omit<RecentRelay, "at"> & { at: string })[];
}

export interface StatusSources {
  config: Pick<Config, "bridges" | "networks">;
  health: () => RelayHealth;
  outbox: Pick<Outbox, "queued" | "deadLetters" | "lastSeen">;
  recorder: ActivityRecorder;
  /** Removes secrets from free text (details, reasons): configured secrets, URL credentials. */
  scrub?: (s: string) => string;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The same-origin path of a network's pending login QR. */
export function qrPath(network: string): string {
  return `/qr/${encodeURIComponent(network)}.png`;
}

/** True while the network waits for its QR to be scanned: only then is the QR served. */
export function qrPending(src: Pick<StatusSources, "config" | "health">, network: string): boolean {
  return src.config.networks[network]?.type === "webqq" && src.health().networks[network]?.state === "login-required";
}

export function buildStatus(src: StatusSources, now = Date.now()): StatusReport {
  const health = src.health();
  const scrub = src.scrub ?? ((s: string) => s);
  const networks: StatusReport["networks"] = {};
  for (const [id, s] of Object.entries(health.networks)) {
    const type = src.config.networks[id]?.type ?? "unknown";
    const n: StatusReport["networks"][string] = { type, ok: s.ok, state: s.state };
    if (s.detail) n.detail = scrub(s.detail);
    const last = iso(src.recorder.lastEvent(id));
    if (last) n.last_event = last;
    if (type === "webqq" && s.state === "login-required") n.qr = qrPath(id);
    networks[id] = n;
  }
  const rooms: StatusReport["rooms"] = {};
  for (const [room, s] of Object.entries(health.rooms)) {
    const last = src.outbox.lastSeen(room)?.toISOString();
    rooms[room] = { state: s.state, ...(s.reason ? { reason: scrub(s.reason) } : {}), ...(last ? { last_seen: last } : {}) };
  }
  const pending = new Map<string, number>();
  for (const q of src.outbox.queued()) pending.set(q.target, (pending.get(q.target) ?? 0) + q.n);
  const dead = new Map(src.outbox.deadLetters().map((d) => [d.target, d.n]));
  const bridges = src.config.bridges.map((b) => {
    const keys = [roomTargetKey(b.xmpp), ...b.links.map((l) => groupTargetKey(l.network, l.group))];
    return {
      room: b.xmpp,
      links: b.links.map((l) => ({ network: l.network, group: l.group })),
      relayed_last_hour: src.recorder.relayedLastHour(b.xmpp),
      targets: keys.map((target) => ({ target, pending: pending.get(target) ?? 0, dead_letters: dead.get(target) ?? 0 })),
    };
  });
  const recent = src.recorder.recent().map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
  return { ok: health.ok, generated_at: new Date(now).toISOString(), networks, rooms, bridges, recent };
}
