// What the implementation behind the API is (get_version_info `app_name`, protocols.md §2.6,
// §2.7) and what that means: how its own sends come back, how its history is paged, and what
// its failure retcodes say about a send.
export type ProfileName = "napcat" | "llbot" | "lagrange" | "go-cqhttp" | "unknown";

export interface Profile {
  name: ProfileName;
  /** As the implementation names itself (app_name app_version), for logs and /healthz. */
  label: string;
  /** The setting that makes it report its own sends (the echo that confirms a delivery). */
  selfMessageSetting: string;
  /**
   * History paging: `seq-1` (go-cqhttp, LLBot: a real per-group sequence, arithmetic is safe),
   * `seq` (NapCat: message_seq is a message id, passed back as is), `id` (Lagrange: message_id).
   */
  historyAnchor: "seq-1" | "seq" | "id";
}

const SETTINGS: Record<ProfileName, string> = {
  napcat: "NapCat: reportSelfMessage: true on this network (websocketServers / websocketClients / httpClients / httpSseServers)",
  llbot: "LLBot: reportSelfMessage: true (ob11 connect entry)",
  lagrange: "Lagrange.OneBot: Message.IgnoreSelf: false in appsettings.json",
  "go-cqhttp": "go-cqhttp: message.report-self-message: true in config.yml",
  unknown: "the implementation's setting that reports the bot's own messages (reportSelfMessage / report-self-message / IgnoreSelf: false)",
};

export function profileNamed(name: ProfileName, label: string = name): Profile {
  const historyAnchor = name === "go-cqhttp" || name === "llbot" ? "seq-1" : name === "lagrange" ? "id" : "seq";
  return { name, label, selfMessageSetting: SETTINGS[name], historyAnchor };
}

/** The profile from get_version_info's data (anything unreadable: unknown). */
export function profileFromVersion(data: unknown): Profile {
  const d = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  const app = typeof d.app_name === "string" ? d.app_name : "";
  const version = typeof d.app_version === "string" ? d.app_version : "";
  const label = `${app || "unknown"}${version ? ` ${version}` : ""}`.slice(0, 80);
  if (/napcat/i.test(app)) return profileNamed("napcat", label);
  if (/llonebot|llbot/i.test(app)) return profileNamed("llbot", label);
  if (/lagrange/i.test(app)) return profileNamed("lagrange", label);
  if (/go-cqhttp|gocq/i.test(app)) return profileNamed("go-cqhttp", label);
  return profileNamed("unknown", label);
}

export type FailureMeaning = "retry" | "unknown" | "fatal" | "auth";

/** Words of a failure that say the message can never go there: no such group, bad request, no permission. */
const NEVER = /GROUP_NOT_FOUND|NOT_FOUND|不存在|PARAM|EMPTY_MSG|permission|权限|禁言|muted|banned/i;
/** Words that say "not now": too frequent, QQ not logged in. */
const LATER = /rate|频繁|too many|offline|离线|未登录|not logged/i;

/**
 * What a `status: failed` answer to send_group_msg means, per implementation (README "Send
 * failures" has the table and the sources):
 * - 1401/1403: the token (auth);
 * - 404/1404: no such action here: never deliverable through it (fatal);
 * - 1400 (NapCat, LLBot): validation of the parameters failed, so it did not run: fatal when its
 *   words say so; NapCat also answers 1400 for backend errors (NapCatQQ#2043), which may have
 *   sent: unknown;
 * - 1200 (NapCat, LLBot over WS) / 200 (NapCat over HTTP, Lagrange): an exception inside the
 *   handler, often a send that timed out waiting for QQ's confirmation after it was handed over:
 *   it may have been delivered, so unknown (settled by the echo or history, never a blind resend);
 * - 9000 (Lagrange): QQ answered the send with a failure result: nothing was delivered: retry;
 * - 100 (go-cqhttp): also answered for 风控 when the message went out anyway (go-cqhttp#382): unknown,
 *   unless its words name a permanent cause (GROUP_NOT_FOUND, PARAM_ERROR, EMPTY_MSG_ERROR: fatal).
 */
export function failureMeaning(profile: Profile, retcode: number | undefined, words: string): FailureMeaning {
  if (retcode === 1401 || retcode === 1403) return "auth";
  if (retcode === 404 || retcode === 1404) return "fatal";
  if (retcode === 400) return "fatal";
  if (retcode === 1400) return NEVER.test(words) || profile.name !== "napcat" ? "fatal" : "unknown";
  if (retcode === 9000 && (profile.name === "lagrange" || profile.name === "unknown")) return NEVER.test(words) ? "fatal" : "retry";
  if (NEVER.test(words)) return "fatal";
  if (LATER.test(words)) return "retry";
  return "unknown";
}
