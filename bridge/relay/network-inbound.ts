// What a network hands to the relay (its sink): a message is committed to the outbox before the
// sink resolves, so the network acknowledges it upstream (re-arms its poll, acks the event) only
// once it is durable.
//
// Loops are prevented by identity, never by nick text: a network message flagged `own`, or whose
// id is one a send of ours got back, is our own echo. It is never relayed; an `own` one is the
// evidence that confirms the target's one unconfirmed send (matched by its text), committed
// before the sink resolves.
import type { Logger } from "pino";
import type { InboundMessage, MessageSink } from "../network.ts";
import { readableText } from "../networks/shared/readable.ts";
import type { Outbox } from "../store/outbox.ts";
import { withAttachments } from "./format.ts";
import type { Intake } from "./intake.ts";
import { fromNetwork } from "./rich-inbound.ts";
import type { Confirm } from "./settlement.ts";
import { groupTargetKey } from "./target.ts";

export interface NetworkInboundDeps {
  outbox: Outbox;
  intake: Intake;
  /** The relay's one confirmation path (own echoes). */
  confirm: Confirm;
  logger: Logger;
  /** A message relayed later than this after its time is marked with its time. */
  lateAfterMs: number;
}

/** The sink a network delivers inbound messages to: resolves once they are committed. */
export function networkSink(networkId: string, d: NetworkInboundDeps): MessageSink {
  return async (msg: InboundMessage) => {
    const sourceTarget = groupTargetKey(networkId, msg.group);
    // A late echo of a confirmed send. (An edit or recall notice may carry the id of our message.)
    if ((msg.kind ?? "message") === "message" && d.outbox.sentAs(sourceTarget, msg.id)) return;
    if (msg.own) {
      if (!d.confirm({ target: sourceTarget, text: msg.text, resultId: msg.id })) {
        d.logger.debug({ network: networkId, group: msg.group, id: msg.id }, "own message matches no unconfirmed send; not relayed");
      }
      return;
    }
    let text = withAttachments(msg.text, msg.attachments);
    // Something was said that we cannot render (a sticker, a voice clip): say so rather than
    // relay an empty line or nothing at all (the networks' own placeholder, one definition).
    // A message of pictures only, an edit or a retraction is something else.
    if (!msg.media?.length && (msg.kind ?? "message") === "message") text = readableText(text);
    const taken = fromNetwork(networkId, msg, text, `net:${networkId}:${msg.id}`, d.outbox.ids);
    if ("skip" in taken) {
      d.logger.debug({ network: networkId, group: msg.group, id: msg.id, ref: msg.ref }, `${taken.skip}: nothing to relay`);
      return;
    }
    d.intake.accept(
      taken.key,
      { kind: "group", network: networkId, group: msg.group },
      { nick: msg.senderName, text: taken.text, network: networkId, group: msg.group, time: msg.time, late: Date.now() - msg.time.getTime() > d.lateAfterMs },
      undefined,
      taken.rich,
    );
  };
}
