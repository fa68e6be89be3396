// The shapes of SmartQQ answers (protocols.md §1.2–1.7), as zod schemas: a body of another shape
// is a clear rejection ("login2: bad answer: result.uin: expected number"), never a throw deep
// inside. Unknown extra fields are allowed (the servers added fields over the years).
import { z } from "zod";

/** `{retcode, result?}`: every s/d1 API answer and poll2. */
export const Envelope = z.object({
  retcode: z.number(),
  result: z.unknown().optional(),
  p: z.unknown().optional(),
  errmsg: z.unknown().optional(),
});

export const VfwebqqResult = z.object({ vfwebqq: z.string().min(1) });

/** login2's own vfwebqq is ignored (protocols.md §1.2 step 5). */
export const Login2Result = z.object({ psessionid: z.string().min(1), uin: z.number().int().nonnegative() });

export const GroupListResult = z.object({ gnamelist: z.array(z.unknown()) });
export const GroupListEntry = z.object({ name: z.string(), gid: z.number().int(), code: z.number().int() });

export const GroupInfoResult = z.object({
  minfo: z.array(z.unknown()).optional(),
  cards: z.array(z.unknown()).optional(), // absent when no member set a card
});
export const MemberInfo = z.object({ uin: z.number(), nick: z.string() });
export const MemberCard = z.object({ muin: z.number(), card: z.string() });

/** send_qun_msg2: `{errCode:0,msg:"send ok"}` on success, `{retcode:N}` on failure. */
export const SendAnswer = z.object({
  errCode: z.number().optional(),
  retcode: z.number().optional(),
  errMsg: z.unknown().optional(),
  msg: z.unknown().optional(),
});

/** One element of poll2's `result` array. */
export const PollItem = z.object({ poll_type: z.string(), value: z.unknown() });

/** The value of a `group_message` item (protocols.md §1.5). */
export const GroupMessageValue = z.object({
  from_uin: z.number().int().nonnegative(), // the gid of this session
  send_uin: z.number().int().nonnegative(),
  msg_id: z.number().int(),
  time: z.number().int().nonnegative().optional(),
  content: z.array(z.unknown()),
});

/** "result.uin: expected number, received string" for the first problem of a failed parse. */
export function firstIssue(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return "bad shape";
  const path = issue.path.map(String).join(".");
  return path === "" ? issue.message : `${path}: ${issue.message}`;
}
