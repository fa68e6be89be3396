// The chaos run: N messages each way per network at a steady rate, through send faults (before
// and after delivery), lost sessions, a Prosody restart and kill -9 + restart of the bridge;
// then one sentinel per stream, waited for, and every stream counted by message id.
import { setTimeout as sleep } from "node:timers/promises";
import { chaosText, countStream, parseChaos, type StreamCount } from "./count.ts";
import { FaultInjector, sendFaultPlan, type FaultCounts } from "./faults.ts";
import { BRIDGE_NICK, NETWORKS, startChaosWorld, type ChaosWorld, type NetworkName } from "./world.ts";

export interface ChaosOptions {
  /** Messages per stream (each network, each direction). */
  n: number;
  /** Messages per second per stream. */
  rate: number;
  /** kill -9 + restart of the bridge, spread evenly over the run. */
  kills: number;
  prosodyRestart: boolean;
  /** Send faults at the issue's rates; false for a baseline run. */
  sendFaults: boolean;
  /** Stalls (1%) hold a send until the client's timeout: slow, so off in the short mode. */
  stalls: boolean;
  /** A lost session / poll fault per network every this many group messages (0: none). */
  pollFaultEvery: number;
  seed: number;
  /** How long to wait for the sentinels once everything was sent. */
  settleTimeoutMs: number;
  log: (line: string) => void;
}

export interface ChaosResult {
  networks: Record<NetworkName, { to_xmpp: StreamCount; to_network: StreamCount }>;
  faults: { injected: number; after_delivery: number; kills: number };
  duration_s: number;
  /** Per network, what was injected (and refused). */
  faultsByNetwork: Record<NetworkName, FaultCounts>;
  prosodyRestarts: number;
  /** Networks whose adapter confirms maybe-delivered sends by own echo or history. */
  confirming: NetworkName[];
  /** Per network, the warnings the restarted bridge logged about what a kill may have cost its inbound (crashGap). */
  crashGapWarnings: Record<NetworkName, number>;
  /** Networks whose inbound a kill can cost what nothing can fetch again (NetworkAdapter.crashGap). */
  crashGap: NetworkName[];
}

/** Each simulator's name for a lost session (or, where there is no session, a lost poll). */
const POLL_FAULT: Record<NetworkName, string> = { webqq: "121", telegram: "reset", onebot11: "reset", onebot12: "reset" };

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const started = performance.now();
  const world = await startChaosWorld({ log: o.log });
  try {
    return await drive(world, o, started);
  } finally {
    await world.close();
  }
}

async function drive(world: ChaosWorld, o: ChaosOptions, started: number): Promise<ChaosResult> {
  const faults = new FaultInjector({
    controls: Object.fromEntries(NETWORKS.map((n) => [n, { url: world.sides[n].control, headers: world.sides[n].controlHeaders }])),
    notice: o.log,
  });
  world.startBridge();
  await Promise.all(
    NETWORKS.map((n) =>
      world.alice().waitForStanza((s) => s.is("presence") && s.attrs.from === `${world.sides[n].room}/${BRIDGE_NICK}` && s.attrs.type !== "unavailable", 60_000),
    ),
  );
  await Promise.all(NETWORKS.map((n) => world.sides[n].loggedIn(AbortSignal.timeout(60_000))));
  // From here each simulator draws its own send faults, per request (the bridge's resends too).
  if (o.sendFaults) await faults.drawSendFaults(sendFaultPlan({ stalls: o.stalls }), o.seed);
  o.log("bridge joined every room and logged in everywhere; sending");

  // Events at fractions of the total: kills spread evenly, the Prosody restart at 60%.
  const total = o.n * NETWORKS.length * 2;
  const events: { at: number; run: () => Promise<void> }[] = [];
  for (let i = 1; i <= o.kills; i++) events.push({ at: Math.round((total * i) / (o.kills + 1)), run: () => kill() });
  if (o.prosodyRestart) events.push({ at: Math.round(total * 0.6) + 1, run: () => restartProsody() });
  events.sort((a, b) => a.at - b.at);
  let progress = 0;
  let kills = 0;
  let prosodyRestarts = 0;
  let busy: Promise<void> = Promise.resolve();
  // alice does not speak while Prosody is down: the room cannot take it (counted as sent otherwise).
  let gate: Promise<void> = Promise.resolve();
  let speaking = 0;
  let quiet: (() => void) | undefined;

  // The room keeps what is said while the bridge is away only in its history, and a test
  // Prosody's rooms (and their history) do not survive a restart: each event waits until the
  // bridge is back in every room (and has caught up) before the next one may take it away again.
  const caughtUp = () => world.bridgeCaughtUp(AbortSignal.timeout(180_000)).catch(() => o.log("the bridge did not catch up within 180 s; going on"));
  const kill = async () => {
    await caughtUp();
    await world.killBridge();
    kills++;
    o.log(`kill -9 ${kills} at ${progress}/${total}`);
    world.startBridge();
  };
  const restartProsody = async () => {
    await caughtUp();
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    if (speaking > 0) await new Promise<void>((r) => (quiet = r));
    o.log(`restarting Prosody at ${progress}/${total}`);
    await world.restartProsody();
    prosodyRestarts++;
    open();
  };
  const tick = () => {
    progress++;
    while (events.length && events[0]!.at <= progress) {
      const e = events.shift()!;
      busy = busy.then(e.run);
    }
  };

  const interval = 1000 / o.rate;
  const toXmpp = async (n: NetworkName) => {
    const side = world.sides[n];
    for (let i = 0; i < o.n; i++) {
      if (o.pollFaultEvery > 0 && i > 0 && i % o.pollFaultEvery === 0) await faults.pollFault(n, POLL_FAULT[n]);
      side.inject(chaosText(n, "to_xmpp", i));
      tick();
      await sleep(interval);
    }
    side.inject(chaosText(n, "to_xmpp", "end"));
  };
  const say = async (room: string, text: string) => {
    await gate;
    speaking++;
    try {
      await world.alice().say(room, text);
    } finally {
      if (--speaking === 0) quiet?.();
    }
  };
  const toNetwork = async (n: NetworkName) => {
    const side = world.sides[n];
    for (let i = 0; i < o.n; i++) {
      await say(side.room, chaosText(n, "to_network", i));
      tick();
      await sleep(interval);
    }
    await say(side.room, chaosText(n, "to_network", "end"));
  };
  await Promise.all(NETWORKS.flatMap((n) => [toXmpp(n), toNetwork(n)]));
  await busy;
  o.log(`all ${total} messages sent; waiting for the sentinels`);

  const signal = AbortSignal.timeout(o.settleTimeoutMs);
  const waitTo = async (n: NetworkName) => {
    const side = world.sides[n];
    const end = chaosText(n, "to_network", "end");
    while (!side.sentTexts().some((t) => t.includes(end))) await side.waitForMore(side.sentTexts().length, signal);
  };
  const waitFrom = async (n: NetworkName) => {
    const room = world.sides[n].room;
    const end = chaosText(n, "to_xmpp", "end");
    const relayed = () => world.roomMessages(room).filter((m) => m.nick === BRIDGE_NICK);
    while (!relayed().some((m) => m.body.includes(end))) await world.waitForRoomMore(room, world.roomMessages(room).length, signal);
  };
  const waits = await Promise.allSettled(NETWORKS.flatMap((n) => [waitTo(n), waitFrom(n)]));
  if (waits.some((w) => w.status === "rejected")) o.log(`some sentinels did not arrive within ${o.settleTimeoutMs} ms; counting what arrived`);

  const sentSeqs = Array.from({ length: o.n }, (_, i) => i);
  const seqs = (texts: string[], n: NetworkName, dir: string) =>
    texts.map(parseChaos).flatMap((p) => (p && p.network === n && p.direction === dir && p.seq !== "end" ? [p.seq] : []));
  const networks = Object.fromEntries(
    NETWORKS.map((n) => {
      const room = world.roomMessages(world.sides[n].room).filter((m) => m.nick === BRIDGE_NICK).map((m) => m.body);
      return [n, { to_xmpp: countStream(sentSeqs, seqs(room, n, "to_xmpp")), to_network: countStream(sentSeqs, seqs(world.sides[n].sentTexts(), n, "to_network")) }];
    }),
  ) as ChaosResult["networks"];
  for (const n of NETWORKS) {
    for (const [dir, texts] of [["to_xmpp", world.roomMessages(world.sides[n].room).filter((m) => m.nick === BRIDGE_NICK).map((m) => m.body)], ["to_network", world.sides[n].sentTexts()]] as const) {
      const arrived = seqs(texts, n, dir);
      const got = new Set(arrived);
      const missing = sentSeqs.filter((i) => !got.has(i));
      if (missing.length) o.log(`${n} ${dir}: missing ${missing.slice(0, 20).join(" ")}${missing.length > 20 ? " ..." : ""}`);
      const first = new Set<number>();
      const twice = arrived.filter((seq) => first.has(seq) || (first.add(seq), false));
      if (twice.length) o.log(`${n} ${dir}: more than once ${twice.slice(0, 20).join(" ")}${twice.length > 20 ? " ..." : ""}`);
    }
  }
  await faults.collect();
  const code = await world.stopBridge();
  if (code !== 0) o.log(`the bridge exited ${code} on SIGTERM (see ${world.dir}/bridge.log)`);
  const byNet = Object.fromEntries(NETWORKS.map((n) => [n, faults.counts.get(n)!])) as Record<NetworkName, FaultCounts>;
  const sum = (k: "injected" | "afterDelivery") => NETWORKS.reduce((s, n) => s + byNet[n][k], 0);
  return {
    networks,
    faults: { injected: sum("injected") + prosodyRestarts, after_delivery: sum("afterDelivery"), kills },
    duration_s: Math.round((performance.now() - started) / 100) / 10,
    faultsByNetwork: byNet,
    prosodyRestarts,
    confirming: NETWORKS.filter((n) => world.evidence[n].echo || world.evidence[n].history),
    crashGapWarnings: await world.crashGapWarnings(),
    crashGap: NETWORKS.filter((n) => world.evidence[n].crashGap),
  };
}

/**
 * The issue's targets; returns what is violated (empty: all met). Where the network confirms by
 * echo or history no duplicate is acceptable. Elsewhere each after-delivery fault, and each
 * kill -9 (it can interrupt one send per target after the group got it), may cost one.
 */
export function violations(r: ChaosResult): string[] {
  const out: string[] = [];
  for (const n of NETWORKS) {
    for (const dir of ["to_xmpp", "to_network"] as const) {
      const c = r.networks[n][dir];
      if (c.lost > 0) out.push(`${n} ${dir}: ${c.lost} lost`);
      const dupLimit = dir === "to_network" && !r.confirming.includes(n) ? r.faultsByNetwork[n].afterDelivery + r.faults.kills : 0;
      if (c.dup > dupLimit) out.push(`${n} ${dir}: ${c.dup} duplicated (at most ${dupLimit})`);
    }
  }
  return out;
}

export function formatTable(r: ChaosResult): string {
  const rows = [["network", "direction", "sent", "lost", "dup", "reordered", "faults (after delivery, refused)"]];
  for (const n of NETWORKS) {
    const f = r.faultsByNetwork[n];
    for (const dir of ["to_xmpp", "to_network"] as const) {
      const c = r.networks[n][dir];
      rows.push([n, dir, String(c.sent), String(c.lost), String(c.dup), String(c.reordered), dir === "to_network" ? `${f.injected} (${f.afterDelivery}, ${f.refused})` : ""]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const byName = NETWORKS.map((n) => `${n}: ${Object.entries(r.faultsByNetwork[n].byName).map(([k, v]) => `${k}=${v}`).join(" ") || "none"}`);
  const warned = r.crashGap.map((n) => `${n} ${r.crashGapWarnings[n]}`).join(", ");
  lines.push("", `confirming by echo or history: ${r.confirming.join(", ") || "none"}`, `after a kill, warned of what it may have cost (crash gap): ${warned || "none"}`, `faults injected ${r.faults.injected} (after delivery ${r.faults.after_delivery}), Prosody restarts ${r.prosodyRestarts}, kill -9 ${r.faults.kills}, ${r.duration_s} s`, ...byName);
  return lines.join("\n");
}
