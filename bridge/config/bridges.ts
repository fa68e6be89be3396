// The bridge entries' network keys: `qq: "Dev Group"` links network "qq"'s group to the room.
// Zod cannot express "any key that names a network", so these checks are by hand.

import type { BridgeLink } from "./types.ts";
import { type ConfigProblem, formatPath } from "./problems.ts";
import { BRIDGE_RESERVED_KEYS } from "./schema.ts";
import { parseGroup as parseTelegramGroup } from "../networks/telegram/groups.ts";

const RESERVED = new Set<string>(BRIDGE_RESERVED_KEYS);
/** The relay's template placeholders (bridge/relay/format.ts). */
export const FORMAT_PLACEHOLDERS = ["nick", "text", "network", "group", "time"];

/** A template typo leaves a literal "{nik}" in every relayed line: worth a warning. */
function formatWarnings(format: string, path: string): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const known = FORMAT_PLACEHOLDERS.map((p) => `{${p}}`).join(", ");
  for (const m of format.matchAll(/\{([A-Za-z_]+)\}/g)) {
    if (!FORMAT_PLACEHOLDERS.includes(m[1]!)) out.push({ path, message: `unknown placeholder {${m[1]}} is sent as is (known: ${known})` });
  }
  if (!format.includes("{text}")) out.push({ path, message: "has no {text}: relayed lines will not carry the message" });
  return out;
}

/** Why a group is not valid for a network type (undefined: fine, or not checked here). */
function groupProblem(type: unknown, group: string): string | undefined {
  if (type !== "telegram") return undefined;
  try {
    parseTelegramGroup(group);
    return undefined;
  } catch {
    return 'not a Telegram chat: a chat id (e.g. "-1001234567890"), an @username, or "chat_id/thread_id"';
  }
}

/** The form two groups of one network are compared in: spaces around never count, nor case in Telegram's @usernames. */
function groupKey(type: unknown, group: string): string {
  const g = group.trim();
  return type === "telegram" ? g.toLowerCase() : g;
}

export interface LinksResult {
  /** Links per bridge entry (index-aligned with the input list). */
  links: BridgeLink[][];
  problems: ConfigProblem[];
  warnings: ConfigProblem[];
}

/** `bridges` and `networks` as parsed (and substituted), before schema validation. */
export function checkBridgeLinks(bridges: unknown, networks: unknown): LinksResult {
  const result: LinksResult = { links: [], problems: [], warnings: [] };
  if (!Array.isArray(bridges)) return result; // the schema reports it
  const networkMap = networks !== null && typeof networks === "object" && !Array.isArray(networks) ? (networks as Record<string, unknown>) : {};
  const networkIds = Object.keys(networkMap);
  const typeOf = (id: string): unknown => {
    const n = networkMap[id];
    return n !== null && typeof n === "object" ? (n as { type?: unknown }).type : undefined;
  };
  const known = networkIds.length ? ` (networks: ${networkIds.join(", ")})` : " (no networks are defined)";
  const rooms = new Map<string, number>();
  const groups = new Map<string, number>();
  const used = new Set<string>();

  bridges.forEach((entry, i) => {
    const links: BridgeLink[] = [];
    result.links.push(links);
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return;
    const fields = entry as Record<string, unknown>;

    if (typeof fields.xmpp === "string") {
      const room = fields.xmpp.toLowerCase();
      const first = rooms.get(room);
      if (first !== undefined) result.problems.push({ path: formatPath(["bridges", i, "xmpp"]), message: `room ${fields.xmpp} is already bridged in bridges[${first}]` });
      else rooms.set(room, i);
    }

    if (typeof fields.format === "string") result.warnings.push(...formatWarnings(fields.format, formatPath(["bridges", i, "format"])));

    for (const [key, value] of Object.entries(fields)) {
      if (RESERVED.has(key)) continue;
      const path = formatPath(["bridges", i, key]);
      if (!networkIds.includes(key)) {
        result.problems.push({ path, message: `no network "${key}"${known}` });
        continue;
      }
      used.add(key);
      let group: string;
      if (typeof value === "string" && value.trim() !== "") group = value;
      else if (typeof value === "number" && Number.isInteger(value)) {
        if (!Number.isSafeInteger(value)) {
          result.problems.push({ path, message: "this number is too large to be read exactly: quote it" });
          continue;
        }
        group = String(value);
      } else {
        result.problems.push({ path, message: "the group must be a non-empty string or a whole number" });
        continue;
      }
      const type = typeOf(key);
      const invalid = groupProblem(type, group);
      if (invalid) {
        result.problems.push({ path, message: invalid });
        continue;
      }
      if (type === "telegram") group = group.trim();
      const dupKey = `${key}\u0000${groupKey(type, group)}`;
      const first = groups.get(dupKey);
      if (first !== undefined) {
        result.problems.push({ path, message: `group ${JSON.stringify(group)} of network "${key}" is already in bridges[${first}]` });
        continue;
      }
      groups.set(dupKey, i);
      links.push({ network: key, group });
    }
    if (!Object.keys(fields).some((k) => !RESERVED.has(k))) {
      result.problems.push({ path: formatPath(["bridges", i]), message: 'no group linked: add a network id and its group, e.g. qq: "Dev Group"' });
    }
  });

  for (const id of networkIds) {
    if (!used.has(id)) result.warnings.push({ path: formatPath(["networks", id]), message: "not used by any bridge" });
  }
  return result;
}
