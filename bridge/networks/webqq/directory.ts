// Groups by name and member display names, re-resolved after every login (gids and member uins
// are per session, protocols.md §1.5–1.6).
import type { Logger } from "pino";
import type { HTTPStream } from "../../../src/index.ts";
import { groupInfoRequest, groupListRequest, parseGroupInfo, parseGroupList, type GroupEntry, type Tokens } from "./api.ts";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import type { Endpoints } from "./endpoints.ts";

export class Directory {
  private byName = new Map<string, GroupEntry>();
  private byGid = new Map<number, GroupEntry>();
  private members = new Map<number, Map<number, string>>();

  private readonly stream: HTTPStream;
  private readonly ep: Endpoints;
  private readonly log: Logger;
  private readonly warnings: RepeatedWarning;

  constructor(stream: HTTPStream, ep: Endpoints, log: Logger, warnings: RepeatedWarning) {
    this.stream = stream;
    this.ep = ep;
    this.log = log;
    this.warnings = warnings;
  }

  /** Forgets everything of the old session (its gids mean nothing now). */
  clear(): void {
    this.byName = new Map();
    this.byGid = new Map();
    this.members = new Map();
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  get size(): number {
    return this.byName.size;
  }

  byGroupName(name: string): GroupEntry | undefined {
    return this.byName.get(name);
  }

  byGroupId(gid: number): GroupEntry | undefined {
    return this.byGid.get(gid);
  }

  /** Loads the group list of this session; warns about configured names it does not hold. */
  async load(tokens: Tokens, configured: string[], signal: AbortSignal): Promise<void> {
    const list = await parseGroupList(await this.stream.request(groupListRequest(this.ep, tokens), { signal }));
    this.clear();
    for (const g of list) {
      if (this.byName.has(g.name)) this.warnings.warn(`same name:${g.name}`, { group: g.name }, "webqq: two groups share this name; using the first");
      else this.byName.set(g.name, g);
      this.byGid.set(g.gid, g);
    }
    const missing = configured.filter((n) => !this.byName.has(n));
    if (missing.length > 0) this.log.error({ missing, available: this.names() }, "webqq: configured groups not found in the account");
  }

  /** A member's display name (card before nick); unknown senders trigger one refresh of the group. */
  async memberName(tokens: Tokens, gid: number, uin: number, signal: AbortSignal): Promise<string | undefined> {
    const known = this.members.get(gid)?.get(uin);
    if (known !== undefined) return known;
    const group = this.byGid.get(gid);
    if (!group) return undefined;
    try {
      const names = await parseGroupInfo(await this.stream.request(groupInfoRequest(this.ep, tokens, group.code), { signal }));
      this.members.set(gid, names);
      return names.get(uin);
    } catch (err) {
      this.warnings.warn(`members:${(err as Error).message}`, { group: group.name, err: (err as Error).message }, "webqq: member list refresh failed");
      return undefined;
    }
  }
}
