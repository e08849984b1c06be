/**
 * The picture of `videomae detect`: the keyframe (nearest-neighbour upscaled), each person box in
 * its own colour, and beside it a legend: per box its top actions with scores. Text is drawn with
 * a built-in 3×5 pixel font (upper case, digits, a few signs), so no font files are needed.
 */
import type { Box } from "../data/ava/csv.ts";

/** 3×5 glyphs: five rows of three bits (4 = left pixel), one octal digit per row. */
const GLYPHS: Record<string, string> = {
  A: "25755", B: "65656", C: "34443", D: "65556", E: "74647", F: "74644", G: "34553", H: "55755", I: "72227", J: "11153",
  K: "55655", L: "44447", M: "57755", N: "65555", O: "25552", P: "65644", Q: "25563", R: "65655", S: "34216", T: "72222",
  U: "55557", V: "55552", W: "55775", X: "55255", Y: "55222", Z: "71247",
  "0": "75557", "1": "26227", "2": "61247", "3": "61216", "4": "55711", "5": "74616", "6": "34757", "7": "71122", "8": "75757", "9": "75716",
  ".": "00002", ":": "02020", "-": "00700", _: "00007", "%": "51245", "/": "11244", " ": "00000", "(": "24442", ")": "42224", "#": "57575",
};

/** Distinct box colours (RGB). */
const PALETTE: [number, number, number][] = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230],
];

export interface Canvas {
  rgb: Uint8Array;
  width: number;
  height: number;
}

function setPixel(c: Canvas, x: number, y: number, col: readonly number[]): void {
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) return;
  const o = (y * c.width + x) * 3;
  c.rgb[o] = col[0]!;
  c.rgb[o + 1] = col[1]!;
  c.rgb[o + 2] = col[2]!;
}

/** Draws `text` (upper-cased) with its top-left corner at (x, y), each font pixel `scale`² pixels. */
export function drawText(c: Canvas, text: string, x: number, y: number, col: readonly number[], scale = 2): void {
  [...text.toUpperCase()].forEach((ch, i) => {
    const g = GLYPHS[ch] ?? GLYPHS["#"]!;
    for (let row = 0; row < 5; row++) {
      const bits = Number(g[row]);
      for (let bit = 0; bit < 3; bit++) {
        if (!(bits & (4 >> bit))) continue;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) setPixel(c, x + (i * 4 + bit) * scale + dx, y + row * scale + dy, col);
      }
    }
  });
}

function drawRect(c: Canvas, b: Box, col: readonly number[], thick: number): void {
  const [x1, y1, x2, y2] = b.map(Math.round) as Box;
  for (let t = 0; t < thick; t++) {
    for (let x = x1; x <= x2; x++) setPixel(c, x, y1 + t, col), setPixel(c, x, y2 - t, col);
    for (let y = y1; y <= y2; y++) setPixel(c, x1 + t, y, col), setPixel(c, x2 - t, y, col);
  }
}

export interface PersonDetection {
  /** Normalised [x1, y1, x2, y2]. */
  box: Box;
  /** Top actions, best first. */
  actions: { name: string; score: number }[];
}

/**
 * The keyframe (H, W, 3) uint8 upscaled by `scale`, boxes drawn, and a legend panel on the right
 * listing each box's actions.
 */
export function detectionPicture(frame: Uint8Array, W: number, H: number, people: readonly PersonDetection[], scale = 4): Canvas {
  const text = 2;
  const lineH = 7 * text;
  const legendW = 4 * text * 24 + 16;
  const legendH = people.reduce((n, p) => n + (p.actions.length + 1) * lineH + 6, 8);
  const width = W * scale + legendW;
  const height = Math.max(H * scale, legendH);
  const c: Canvas = { rgb: new Uint8Array(width * height * 3).fill(24), width, height };
  for (let y = 0; y < H * scale; y++)
    for (let x = 0; x < W * scale; x++) {
      const s = (Math.floor(y / scale) * W + Math.floor(x / scale)) * 3;
      setPixel(c, x, y, [frame[s]!, frame[s + 1]!, frame[s + 2]!]);
    }
  let ly = 8;
  people.forEach((p, i) => {
    const col = PALETTE[i % PALETTE.length]!;
    drawRect(c, [p.box[0] * W * scale, p.box[1] * H * scale, p.box[2] * W * scale - 1, p.box[3] * H * scale - 1], col, 2);
    drawText(c, `#${i + 1}`, Math.round(p.box[0] * W * scale) + 3, Math.round(p.box[1] * H * scale) + 3, col, text);
    drawText(c, `PERSON ${i + 1}`, W * scale + 8, ly, col, text);
    ly += lineH;
    for (const a of p.actions) {
      drawText(c, `${a.name.slice(0, 17)} ${(100 * a.score).toFixed(0)}%`, W * scale + 16, ly, [230, 230, 230], text);
      ly += lineH;
    }
    ly += 6;
  });
  return c;
}
