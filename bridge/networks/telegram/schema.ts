// The Bot API bodies the bridge reads, as zod schemas (protocols.md §4): the answer envelope, an
// Update, and the Message fields the bridge uses. A body of another shape is a clear rejection
// here, never a throw deep inside the relay's path. Fields the bridge does not read pass as they are.
import { z } from "zod";

const MAX_RETRY_AFTER_S = 86_400;
const int = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

/** `{"ok":true,"result":…}` or `{"ok":false,"error_code":N,"description":…,"parameters":{…}}`. */
export const AnswerSchema = z.looseObject({
  ok: z.boolean(),
  result: z.unknown().optional(),
  error_code: z.number().optional().catch(undefined),
  description: z.string().optional().catch(undefined),
  parameters: z
    .looseObject({
      // Seconds; a server asking for more than a day is taken as a day (a wait must stay a number).
      retry_after: z.number().nonnegative().transform((v) => Math.min(v, MAX_RETRY_AFTER_S)).optional().catch(undefined),
      migrate_to_chat_id: z.union([z.number(), z.string()]).optional().catch(undefined),
    })
    .optional()
    .catch(undefined),
});

export const UserSchema = z.looseObject({
  id: int,
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  username: z.string().optional(),
});

export const ChatSchema = z.looseObject({
  id: int,
  type: z.string(),
  title: z.string().optional(),
  username: z.string().optional(),
});

const media = <T extends z.core.$ZodLooseShape>(shape: T) => z.looseObject(shape).optional();

export const MessageSchema = z.looseObject({
  message_id: int,
  message_thread_id: int.optional(),
  is_topic_message: z.boolean().optional(),
  from: UserSchema.optional(),
  sender_chat: ChatSchema.optional(),
  chat: ChatSchema,
  date: int,
  /** edited_message: when it was edited. */
  edit_date: int.optional().catch(undefined),
  text: z.string().optional(),
  caption: z.string().optional(),
  reply_to_message: z.looseObject({ message_id: int }).optional(),
  animation: media({}),
  audio: media({ title: z.string().optional() }),
  document: media({ file_name: z.string().optional() }),
  photo: z.array(z.unknown()).optional(),
  sticker: media({ emoji: z.string().optional(), is_animated: z.boolean().optional().catch(undefined), is_video: z.boolean().optional().catch(undefined) }),
  story: media({}),
  video: media({}),
  video_note: media({}),
  voice: media({}),
  contact: media({ first_name: z.string().optional(), last_name: z.string().optional(), phone_number: z.string().optional() }),
  dice: media({ emoji: z.string().optional(), value: int.optional() }),
  game: media({ title: z.string().optional() }),
  poll: media({ question: z.string() }),
  venue: media({ title: z.string().optional(), address: z.string().optional() }),
  location: media({ latitude: z.number().optional(), longitude: z.number().optional() }),
});

export type TgMessage = z.infer<typeof MessageSchema>;
export type TgUser = z.infer<typeof UserSchema>;
export type TgChat = z.infer<typeof ChatSchema>;

/** An update: its id (what the offset confirms) and, for the kind the bridge reads, a message. */
export const UpdateIdSchema = z.looseObject({ update_id: int.min(0) });

/** The first problem zod found, as one short line ("message.poll.question: expected string"). */
export function firstIssue(err: z.ZodError, prefix = ""): string {
  const i = err.issues[0];
  if (!i) return "bad shape";
  const path = [prefix, ...i.path.map(String)].filter((s) => s !== "").join(".");
  return `${path === "" ? "" : `${path}: `}${i.message}`;
}
