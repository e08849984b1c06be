/**
 * The AVA file formats (spec §2, §4):
 *
 *   ground truth   video_id,timestamp,x1,y1,x2,y2,action_id,person_id   (boxes normalised to [0, 1])
 *   detections     video_id,timestamp,x1,y1,x2,y2,action_id,score
 *   excluded       video_id,timestamp
 *   label map      pbtxt: `  name: "…"` then `  id: N` (or `label_id: N`) per item
 *   proposals      video_id,timestamp,x1,y1,x2,y2,score                 (person-detector boxes)
 *
 * Rows are keyed by keyframe, `"video_id,%04d"` of the integer timestamp (ActivityNet's
 * make_image_key). Proposals: the reference keeps them as COCO-style JSON (xywh in keyframe
 * pixels) or a pickle; the CSV above, in the ground truth's own normalised coordinates, is our
 * choice — one format family, readable with the same parser, no pixel size needed.
 */
import { readFileSync } from "node:fs";

/** A malformed or unreadable AVA file; `line` is 1-based (0: the whole file). */
export class AvaFileError extends Error {
  override name = "AvaFileError";
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`);
  }
}

/** [x1, y1, x2, y2], normalised to the keyframe's width and height. */
export type Box = [number, number, number, number];

export interface AvaRow {
  videoId: string;
  timestamp: number;
  box: Box;
  actionId: number;
  /** Ground truth: the person id; detections: the score. */
  last: number;
}

export interface ProposalBox {
  box: Box;
  score: number;
}

/** ActivityNet's image key: `video_id,%04d` of the integer timestamp. */
export function keyframeKey(videoId: string, timestamp: number): string {
  return `${videoId},${String(Math.trunc(timestamp)).padStart(4, "0")}`;
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new AvaFileError(file, 0, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path`);
  }
}

/** Non-empty lines with their 1-based numbers, split on commas. */
function csvLines(text: string): [number, string[]][] {
  const out: [number, string[]][] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    if (l.trim() !== "") out.push([i + 1, l.split(",").map((s) => s.trim())]);
  });
  return out;
}

function num(file: string, line: number, s: string | undefined, what: string): number {
  const v = s === undefined || s === "" ? NaN : Number(s);
  if (!Number.isFinite(v)) throw new AvaFileError(file, line, `${what} '${s ?? ""}' is not a number`);
  return v;
}

function boxOf(file: string, line: number, cols: string[]): Box {
  return [num(file, line, cols[2], "x1"), num(file, line, cols[3], "y1"), num(file, line, cols[4], "x2"), num(file, line, cols[5], "y2")];
}

/**
 * Parses ground-truth or detection rows (7 or 8 columns; a 7-column row has score/person 1, as in
 * ActivityNet's read_csv). `text` defaults to the file's contents.
 */
export function parseAvaCsv(file: string, text: string = readText(file)): AvaRow[] {
  return csvLines(text).map(([line, cols]) => {
    if (cols.length !== 7 && cols.length !== 8) {
      throw new AvaFileError(file, line, `expected 7 or 8 columns (video_id,timestamp,x1,y1,x2,y2,action_id[,person_id|score]), got ${cols.length}`);
    }
    const actionId = num(file, line, cols[6], "action_id");
    if (!Number.isInteger(actionId) || actionId < 1) throw new AvaFileError(file, line, `action_id must be a positive integer, got ${cols[6]}`);
    return {
      videoId: cols[0]!,
      timestamp: num(file, line, cols[1], "timestamp"),
      box: boxOf(file, line, cols),
      actionId,
      last: cols.length === 8 ? num(file, line, cols[7], "column 8 (person_id/score)") : 1,
    };
  });
}

/** The excluded keyframes (`video_id,timestamp` rows) as keys; a missing argument gives none. */
export function readExcluded(file: string | null | undefined): Set<string> {
  if (!file) return new Set();
  return new Set(
    csvLines(readText(file)).map(([line, cols]) => {
      if (cols.length < 2) throw new AvaFileError(file, line, "expected video_id,timestamp");
      return keyframeKey(cols[0]!, num(file, line, cols[1], "timestamp"));
    }),
  );
}

export interface LabelMapEntry {
  id: number;
  name: string;
}

/**
 * The pbtxt label map: items with `name: "…"` and `id:` / `label_id:` lines (ActivityNet's
 * read_labelmap reads exactly these two). For AVA v2.2 this lists the 60 evaluated classes.
 */
export function readLabelMap(file: string, text: string = readText(file)): LabelMapEntry[] {
  const out: LabelMapEntry[] = [];
  let name: string | null = null;
  text.split(/\r?\n/).forEach((l, i) => {
    const t = l.trim();
    if (t.startsWith("name:")) name = t.slice(5).trim().replace(/^"|"$/g, "");
    else if (t.startsWith("id:") || t.startsWith("label_id:")) {
      const id = Number(t.slice(t.indexOf(":") + 1).trim());
      if (!Number.isInteger(id) || id < 1) throw new AvaFileError(file, i + 1, `id must be a positive integer, got '${t}'`);
      if (name === null) throw new AvaFileError(file, i + 1, "an id line before its name line");
      out.push({ id, name });
      name = null;
    }
  });
  if (!out.length) throw new AvaFileError(file, 0, 'no items (expected `item { name: "…" id: N }` blocks)');
  return out;
}

/** Writes a label map in the pbtxt layout readLabelMap reads (and ActivityNet's read_labelmap). */
export function formatLabelMap(entries: readonly LabelMapEntry[]): string {
  return entries.map((e) => `item {\n  name: "${e.name}"\n  id: ${e.id}\n}\n`).join("");
}

/**
 * Person proposals (`video_id,timestamp,x1,y1,x2,y2,score`) with score ≥ `minScore`, per
 * keyframe key, in file order. The reference keeps detector boxes with score ≥ 0.8 (spec §2).
 */
export function readProposals(file: string, minScore: number): Map<string, ProposalBox[]> {
  const out = new Map<string, ProposalBox[]>();
  for (const [line, cols] of csvLines(readText(file))) {
    if (cols.length !== 7) throw new AvaFileError(file, line, `expected 7 columns (video_id,timestamp,x1,y1,x2,y2,score), got ${cols.length}`);
    const score = num(file, line, cols[6], "score");
    if (score < minScore) continue;
    const key = keyframeKey(cols[0]!, num(file, line, cols[1], "timestamp"));
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push({ box: boxOf(file, line, cols), score });
  }
  return out;
}

/** A CSV row `video_id,%04d,x1,y1,x2,y2[,more…]` with boxes to 6 decimals (the reference's precision). */
export function csvRow(videoId: string, timestamp: number, box: Box, ...more: string[]): string {
  return [videoId, String(Math.trunc(timestamp)).padStart(4, "0"), ...box.map((v) => v.toFixed(6)), ...more].join(",");
}
