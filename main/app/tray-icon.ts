// The tray icon's image, drawn here so that every state has one without image files to ship: a
// disc in the state's colour (a ring when the agent is unreachable), with a dot when requests
// are waiting for the helpdesk.
import { crc32, deflateSync } from 'node:zlib';
import type { Protection } from '../../common/status';

type Rgb = readonly [number, number, number];

const COLOURS: Record<Protection, Rgb> = {
  protected: [0x1f, 0x9d, 0x55],
  'monitor-only': [0xd9, 0x8e, 0x04],
  problem: [0xd9, 0x30, 0x25],
  unreachable: [0x9a, 0xa0, 0xa6],
};
const PENDING: Rgb = [0x1a, 0x73, 0xe8];

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An RGBA image as PNG bytes. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  const rows = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    rows[y * (width * 4 + 1)] = 0; // filter: none
    rows.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The icon for a state at `size` pixels square (16 for 1x, 32 for 2x). */
export function trayIconPng(protection: Protection, pending: boolean, size = 16): Buffer {
  const rgba = new Uint8Array(size * size * 4);
  const centre = (size - 1) / 2;
  const outer = size * 0.44;
  const inner = protection === 'unreachable' ? size * 0.28 : -1;
  const dot = { x: size * 0.8, y: size * 0.2, r: size * 0.2 };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const distance = Math.hypot(x - centre, y - centre);
      let colour: Rgb | undefined;
      if (distance <= outer && distance >= inner) colour = COLOURS[protection];
      if (pending && Math.hypot(x - dot.x, y - dot.y) <= dot.r) colour = PENDING;
      if (!colour) continue;
      rgba.set([...colour, 255], (y * size + x) * 4);
    }
  }
  return encodePng(size, size, rgba);
}
