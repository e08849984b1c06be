/**
 * The frame count of an MP4/MOV file's first video track, read from its sample table (`stsz` /
 * `stz2` sample_count: the number ffprobe reports as nb_frames and `videomae predict` samples
 * from). Other containers, or a file without a readable table, give null; the page then falls
 * back to round(duration × fps).
 */

function type4(v: DataView, at: number): string {
  return String.fromCharCode(v.getUint8(at), v.getUint8(at + 1), v.getUint8(at + 2), v.getUint8(at + 3));
}

/** The child boxes in [start, end): type, payload start and end. */
function* boxes(v: DataView, start: number, end: number): Generator<{ type: string; body: number; end: number }> {
  let at = start;
  while (at + 8 <= end) {
    let size = v.getUint32(at);
    const type = type4(v, at + 4);
    let body = at + 8;
    if (size === 1) {
      if (at + 16 > end) return;
      size = Number(v.getBigUint64(at + 8));
      body = at + 16;
    } else if (size === 0) size = end - at;
    if (size < body - at || at + size > end) return;
    yield { type, body, end: at + size };
    at += size;
  }
}

function child(v: DataView, start: number, end: number, type: string): { body: number; end: number } | null {
  for (const b of boxes(v, start, end)) if (b.type === type) return b;
  return null;
}

/** Video-track sample count, or null when the bytes are not an MP4 with one. */
export function mp4VideoFrameCount(bytes: ArrayBuffer): number | null {
  const v = new DataView(bytes);
  const moov = child(v, 0, v.byteLength, "moov");
  if (!moov) return null;
  for (const trak of boxes(v, moov.body, moov.end)) {
    if (trak.type !== "trak") continue;
    const mdia = child(v, trak.body, trak.end, "mdia");
    if (!mdia) continue;
    const hdlr = child(v, mdia.body, mdia.end, "hdlr");
    if (!hdlr || hdlr.body + 12 > hdlr.end || type4(v, hdlr.body + 8) !== "vide") continue;
    const minf = child(v, mdia.body, mdia.end, "minf");
    const stbl = minf && child(v, minf.body, minf.end, "stbl");
    if (!stbl) return null;
    const stsz = child(v, stbl.body, stbl.end, "stsz") ?? child(v, stbl.body, stbl.end, "stz2");
    if (!stsz || stsz.body + 12 > stsz.end) return null;
    const count = v.getUint32(stsz.body + 8); // version/flags, sample_size (stz2: reserved + field_size), sample_count
    return count > 0 ? count : null;
  }
  return null;
}
