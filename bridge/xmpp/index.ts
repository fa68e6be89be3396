// The XMPP side of the bridge, as the relay sees it.
export { MucClient } from "./muc-client.ts";
export { XmppAuthError, type XmppLoginFailure } from "./auth-error.ts";
export { RoomSendError, type RoomSendFailure } from "./send-error.ts";
export { XmppUploadError, type UploadFailure } from "./upload.ts";
export type { History, RetractTarget, RoomMessage, RoomOptions, RoomSendOptions, RoomSendResult, RoomState, RoomStateName, XmppEvents, XmppOptions } from "./types.ts";
