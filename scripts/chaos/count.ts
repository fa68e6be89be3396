// Counting one stream of the chaos run by message id: what was sent against what arrived, in
// arrival order. lost: sent, never arrived. dup: arrivals beyond the first of an id. reordered:
// first arrivals whose sequence number is below one that arrived before them.

export interface StreamCount {
  sent: number;
  lost: number;
  dup: number;
  reordered: number;
}

export function countStream(sent: readonly number[], arrived: readonly number[]): StreamCount {
  const expected = new Set(sent);
  const seen = new Set<number>();
  let dup = 0;
  let reordered = 0;
  let highest = -Infinity;
  for (const seq of arrived) {
    if (!expected.has(seq)) continue; // not ours (a sentinel, another stream)
    if (seen.has(seq)) {
      dup++;
      continue;
    }
    seen.add(seq);
    if (seq < highest) reordered++;
    else highest = seq;
  }
  return { sent: sent.length, lost: expected.size - seen.size, dup, reordered };
}

/** The text every chaos message carries: "chaos <network> <direction> <seq>" (or "end" for the sentinel). */
export function chaosText(network: string, direction: "to_xmpp" | "to_network", seq: number | "end"): string {
  return `chaos ${network} ${direction} ${seq}`;
}

const PATTERN = /chaos (\w+) (to_xmpp|to_network) (\d+|end)/;

/** Reads a chaos message out of a relayed line ("<alice> chaos ...", "[time] <alice> chaos ..."). */
export function parseChaos(text: string): { network: string; direction: string; seq: number | "end" } | undefined {
  const m = PATTERN.exec(text);
  if (!m) return undefined;
  return { network: m[1]!, direction: m[2]!, seq: m[3] === "end" ? "end" : Number(m[3]) };
}
