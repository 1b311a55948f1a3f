// Cutting bytes the way a socket may deliver them, for tests of incremental parsers.

/** `bytes` cut at the given points (taken modulo its length, deduplicated, sorted); empty pieces included. */
export function splitBytes<T extends Uint8Array>(bytes: T, cuts: number[]): T[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: T[] = [];
  let prev = 0;
  for (const p of points) { parts.push(bytes.subarray(prev, p) as T); prev = p; }
  parts.push(bytes.subarray(prev) as T);
  return parts;
}
