// The SmartQQ hash functions (protocols.md §1.3). Pure; verified against the reference's vectors.

/** hash33 over qrsig: the `ptqrtoken` of ptqrlogin. Low 31 bits, as Python and Java agree. */
export function hash33(s: string): number {
  let e = 0;
  for (let i = 0; i < s.length; i++) e = (e + ((e << 5) >>> 0) + s.charCodeAt(i)) >>> 0;
  return e & 0x7fffffff;
}

/** bkn / g_tk over skey: hash33 started from 5381 (qun.qq.com APIs). */
export function bkn(skey: string): number {
  let e = 5381;
  for (let i = 0; i < skey.length; i++) e = (e + ((e << 5) >>> 0) + skey.charCodeAt(i)) >>> 0;
  return e & 0x7fffffff;
}

/**
 * hash(uin, ptwebqq): the `hash` of get_group_name_list_mask2 and get_user_friends2
 * (mq.js function "P"). `uin` is login2's uin; 16 upper-case hex characters.
 */
export function groupListHash(uin: number | bigint, ptwebqq: string): string {
  const n = [0, 0, 0, 0];
  for (let i = 0; i < ptwebqq.length; i++) n[i % 4]! ^= ptwebqq.charCodeAt(i);
  const u = BigInt(uin);
  const byte = (shift: bigint) => Number((u >> shift) & 255n);
  const v = [byte(24n) ^ 0x45, byte(16n) ^ 0x43, byte(8n) ^ 0x4f, byte(0n) ^ 0x4b]; // "ECOK"
  const out = [n[0]!, v[0]!, n[1]!, v[1]!, n[2]!, v[2]!, n[3]!, v[3]!];
  return out.map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join("");
}
