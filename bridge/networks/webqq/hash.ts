// The SmartQQ hash functions (protocols.md §1.3). Pure; verified against the reference's vectors.

/** e += (e << 5) + c over the string, from `start`; the low 31 bits, as Python and Java agree. */
function times33(s: string, start: number): number {
  let e = start;
  for (let i = 0; i < s.length; i++) e = (e + ((e << 5) >>> 0) + s.charCodeAt(i)) >>> 0;
  return e & 0x7fffffff;
}

/** hash33 over qrsig: the `ptqrtoken` of ptqrlogin. */
export function hash33(s: string): number {
  return times33(s, 0);
}

/** bkn / g_tk over skey: the same loop started from 5381 (qun.qq.com APIs). */
export function bkn(skey: string): number {
  return times33(skey, 5381);
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
