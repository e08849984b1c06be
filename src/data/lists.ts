/**
 * List files of the official pipelines (spec §4.1, §4.2): one clip per line, fields separated
 * by spaces (the official code reads them with pandas, delimiter ' ', no header).
 *
 *   "video-label"   fine-tuning videos            path label                      (train.csv, val.csv, test.csv)
 *   "frames-label"  fine-tuning frame folders     folder total_frames label       (Something-Something V2)
 *   "pretrain"      pre-training                  path 0 -1                       (a video file)
 *                                                 folder start_index total_frames (a folder of frames)
 *
 * Pre-training lists also accept the V1 two-field form `path label` (label ignored), so a
 * fine-tuning train.csv can be reused for pre-training.
 *
 * Fields are split on runs of whitespace and the field count must match exactly (a frame-folder
 * list read as "video-label" fails at once instead of producing odd paths), so paths cannot
 * contain spaces — as in the official code. Relative paths resolve against `dataRoot`
 * when given (the official `--data_root` prefix), else against the list file's folder. Blank
 * lines are skipped; any other malformed line throws ListFileError naming file and line, when
 * the list is read — never in the middle of an epoch.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";

import { ListFileError } from "./errors.ts";

export type ListFormat = "video-label" | "frames-label" | "pretrain";

/** One line of a list file. */
export interface ListEntry {
  /** Video file or frame folder, resolved (absolute unless the base itself was relative). */
  path: string;
  kind: "video" | "frames";
  /** Class index; -1 for pre-training entries. */
  label: number;
  /** Frame count from the list (frame folders); -1 = unknown, the reader probes the file. */
  totalFrames: number;
  /** File number of frame index 0 for frame folders (`start_index`); null = the reader default (1). */
  startIndex: number | null;
  /** The list file (or the name given to parseList) and 1-based line, for error messages. */
  source: string;
  line: number;
}

export interface ListOptions {
  /** Prefix for relative paths (official `--data_root`); default: the list file's folder. */
  dataRoot?: string;
  /** Labels must be < numClasses (checked at read time). */
  numClasses?: number;
}

const EXPECTED: Record<ListFormat, string> = {
  "video-label": `"path label" (a label is a non-negative integer)`,
  "frames-label": `"folder total_frames label" (two non-negative integers after the folder)`,
  pretrain: `"path 0 -1" for a video, "folder start_index total_frames" for a frame folder, or "path label"`,
};

/** Reads and checks a list file. Throws ListFileError for a missing/empty file or a bad line. */
export function readList(file: string, format: ListFormat, opts: ListOptions = {}): ListEntry[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ListFileError(file, 0, code === "ENOENT" ? "list file not found; check the --data_path / list argument" : `cannot read list file (${String(err)})`);
  }
  return parseList(text, format, { ...opts, source: file, baseDir: dirname(resolve(file)) });
}

export interface ParseListOptions extends ListOptions {
  /** Name used in error messages (default "<list>"). */
  source?: string;
  /** Folder relative paths resolve against when no dataRoot is given (default: the working directory). */
  baseDir?: string;
}

/** Parses list text (see readList). */
export function parseList(text: string, format: ListFormat, opts: ParseListOptions = {}): ListEntry[] {
  const source = opts.source ?? "<list>";
  const base = opts.dataRoot !== undefined ? resolve(opts.dataRoot) : (opts.baseDir ?? process.cwd());
  const counts = format === "video-label" ? [2] : format === "frames-label" ? [3] : [3, 2];
  const entries: ListEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === "") continue;
    const lineNo = i + 1;
    const fail = (why: string): never => {
      throw new ListFileError(source, lineNo, `${why}; expected ${EXPECTED[format]}, got "${clip(raw)}"`);
    };
    const fields = raw.split(/\s+/);
    if (!counts.includes(fields.length)) fail(`${fields.length} field${fields.length === 1 ? "" : "s"}`);
    const nums = fields.slice(1).map((f) => (/^-?\d+$/.test(f) ? Number(f) : NaN));
    if (!nums.every(Number.isSafeInteger)) fail(`"${fields.slice(1).join(" ")}" is not all integers`);
    const path = fields[0]!;
    const full = isAbsolute(path) ? path : join(base, path);
    const entry: ListEntry = { path: full, kind: "video", label: -1, totalFrames: -1, startIndex: null, source, line: lineNo };
    if (format === "video-label") {
      entry.label = nums[0]!;
    } else if (format === "frames-label") {
      entry.kind = "frames";
      [entry.totalFrames, entry.label] = [nums[0]!, nums[1]!];
      if (entry.totalFrames < 1) fail(`total_frames must be ≥ 1`);
    } else if (nums.length === 2) {
      const [start, total] = [nums[0]!, nums[1]!];
      if (total >= 0) {
        // `folder start_index total_frames`; the official code decodes frames when total ≥ 0.
        if (start < 0) fail(`start_index must be ≥ 0`);
        if (total < 1) fail(`a frame folder needs total_frames ≥ 1 (use "path 0 -1" for a video file)`);
        Object.assign(entry, { kind: "frames", startIndex: start, totalFrames: total });
      }
    }
    if (format !== "pretrain") {
      if (entry.label < 0) fail(`label must be a non-negative integer`);
      if (opts.numClasses !== undefined && entry.label >= opts.numClasses) {
        fail(`label ${entry.label} is out of range for ${opts.numClasses} classes (labels are 0-based)`);
      }
    }
    entries.push(entry);
  }
  if (entries.length === 0) throw new ListFileError(source, 0, `the list is empty; expected lines of the form ${EXPECTED[format]}`);
  return entries;
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
