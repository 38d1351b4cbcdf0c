/** Reads width, height and duration out of an MP4/MOV's moov box, so uploaded videos get the metadata Telegram would report. */

export interface VideoMeta {
  width: number;
  height: number;
  duration: number;
}

interface Box {
  type: string;
  start: number;
  end: number;
}

function* boxes(buf: Buffer, start: number, end: number): Generator<Box> {
  let pos = start;
  while (pos + 8 <= end) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let header = 8;
    if (size === 1) {
      if (pos + 16 > end) return;
      size = Number(buf.readBigUInt64BE(pos + 8));
      header = 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < header || pos + size > end) return;
    yield { type, start: pos + header, end: pos + size };
    pos += size;
  }
}

const child = (buf: Buffer, parent: Box, type: string): Box | undefined => {
  for (const box of boxes(buf, parent.start, parent.end)) if (box.type === type) return box;
  return undefined;
};

/** Undefined when the bytes are not an ISO-BMFF file with a video track (random test bytes, say). */
export function probeMp4(buf: Buffer): VideoMeta | undefined {
  try {
    const root: Box = { type: 'root', start: 0, end: buf.length };
    const moov = child(buf, root, 'moov');
    if (moov === undefined) return undefined;
    const mvhd = child(buf, moov, 'mvhd');
    let duration = 0;
    if (mvhd !== undefined) {
      const v1 = buf[mvhd.start] === 1;
      const timescale = buf.readUInt32BE(mvhd.start + (v1 ? 20 : 12));
      const units = v1 ? Number(buf.readBigUInt64BE(mvhd.start + 24)) : buf.readUInt32BE(mvhd.start + 16);
      // Bot API durations are whole seconds.
      if (timescale > 0) duration = Math.round(units / timescale);
    }
    for (const trak of boxes(buf, moov.start, moov.end)) {
      if (trak.type !== 'trak') continue;
      const mdia = child(buf, trak, 'mdia');
      const hdlr = mdia && child(buf, mdia, 'hdlr');
      // hdlr: version/flags(4) pre_defined(4) handler_type(4)
      if (hdlr === undefined || buf.toString('latin1', hdlr.start + 8, hdlr.start + 12) !== 'vide') continue;
      const tkhd = child(buf, trak, 'tkhd');
      if (tkhd === undefined) continue;
      // tkhd width/height are 16.16 fixed point at payload byte 76 (version 0) or 88 (version 1).
      const offset = tkhd.start + (buf[tkhd.start] === 1 ? 88 : 76);
      const width = buf.readUInt32BE(offset) >>> 16;
      const height = buf.readUInt32BE(offset + 4) >>> 16;
      return { width, height, duration };
    }
    return undefined;
  } catch {
    return undefined;
  }
}
