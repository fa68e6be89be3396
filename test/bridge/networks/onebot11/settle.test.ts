// Relay level, through the CLI and a real Prosody: a send from the room hit by each send fault,
// before the implementation ran it (nothing delivered) and after (delivered, answer lost), over
// both WebSocket transports, with own-message reports on: the group gets it exactly once, and
// the bot's own echo never reaches the room. The network side (own echoes with the send's id,
// history, retry/unknown kinds) is this branch's; settling an `unknown` send (wait for the echo,
// ask findSent, resend) is the relay's, in branch `core`: skipped until it is merged.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cliWorld, GROUP } from "./cli-world.ts";

const FAULTS = ["reset", "500", "stall", "reset-after", "500-after", "stall-after"] as const;

for (const transport of ["ws", "ws-reverse"] as const) {
  test(`${transport}: each send fault before and after delivery: the group gets every message exactly once, no own echo in the room`, { timeout: 180_000 }, async (t) => {
    const w = await cliWorld(t, transport, { echoOwn: true });
    const bridge = w.spawn();
    await w.healthy();
    for (const fault of FAULTS) {
      w.sim.failNext("send_group_msg", fault);
      await w.alice.say(w.room, `through ${fault}`);
    }
    await w.alice.say(w.room, "sentinel");
    const sent = await w.sim.waitForSent(GROUP, FAULTS.length + 1, AbortSignal.timeout(150_000));
    await w.drained(150_000);
    assert.deepEqual(sent.map((m) => m.text), [...FAULTS.map((f) => `<alice> through ${f}`), "<alice> sentinel"]);
    assert.equal(w.sim.sent(GROUP).length, FAULTS.length + 1);
    assert.deepEqual(w.relayed(), []); // no echo of our own sends came back into the room
    bridge.child.kill("SIGTERM");
    await bridge.exited;
  });
}
