/** Box geometry shared by the AVA data and the evaluator. */
import type { Box } from "./csv.ts";

/** IoU of two [x1, y1, x2, y2] boxes, areas without +1 (the TF evaluator's np_box_ops). */
export function iou(a: Box, b: Box): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return inter / union;
}
