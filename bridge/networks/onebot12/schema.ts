// The OneBot 12 bodies the bridge reads, as zod schemas (protocols.md §3): action responses and
// group message events. A body of another shape is a clear rejection, never a throw deep inside.
import { z } from "zod";

/** Ids are strings in v12; a finite number from a lax implementation is the same id. */
export const IdSchema = z.union([z.string().min(1), z.number().finite().transform(String)]);

/** `{status, retcode, data, message, echo?}` (data-protocol/action-response.md). */
export const ActionResponseSchema = z.looseObject({
  status: z.string().optional(),
  retcode: z.number().int().optional(),
  data: z.unknown().optional(),
  message: z.string().optional().catch(undefined),
});

export const SelfSchema = z.looseObject({ platform: z.string(), user_id: IdSchema });

export const SegmentSchema = z.looseObject({ type: z.string(), data: z.record(z.string(), z.unknown()) });
export type Segment = z.infer<typeof SegmentSchema>;

/** A group message event; `message` must be segments, or else an `alt_message` must stand for it. */
export const GroupMessageSchema = z
  .looseObject({
    id: z.string().optional().catch(undefined),
    self: SelfSchema.optional(),
    time: z.number().finite().optional(),
    message_id: IdSchema,
    group_id: IdSchema,
    user_id: IdSchema,
    message: z.unknown(),
    alt_message: z.string().optional(),
  })
  .refine((e) => SegmentSchema.array().safeParse(e.message).success || e.alt_message !== undefined, {
    message: "message is not a segment array and there is no alt_message",
    path: ["message"],
  });

/** The first problem zod found, as one short line. */
export function firstIssue(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return "bad shape";
  return `${i.path.length > 0 ? `${i.path.map(String).join(".")}: ` : ""}${i.message}`;
}

/** notice.group_message_delete (interface/group/notice-events.md): a message recalled or deleted by an admin. */
export const GroupMessageDeleteSchema = z.looseObject({
  id: z.string().optional().catch(undefined),
  self: SelfSchema.optional(),
  time: z.number().finite().optional(),
  sub_type: z.string().optional().catch(undefined),
  group_id: IdSchema,
  message_id: IdSchema,
  user_id: IdSchema.optional().catch(undefined),
  operator_id: IdSchema.optional().catch(undefined),
});
