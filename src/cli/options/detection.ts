/**
 * The options of the detection commands (detect-train, detect-eval, detect, detect-synth): one spec
 * per key of the library's defaults (src/train/detect.ts, src/eval/detect.ts,
 * src/data/synth/detection.ts); training options they share (epochs, lr, model, …) are described
 * once, in training.ts.
 */
import { SYNTH_DETECTION_DEFAULTS } from "../../data/synth/detection.ts";
import { DETECT_EVAL_DEFAULTS, DETECT_VIDEO_DEFAULTS } from "../../eval/detect.ts";
import { DETECT_TRAIN_DEFAULTS } from "../../train/detect.ts";
import { NON_NEGATIVE, POSITIVE, POSITIVE_INT } from "./ranges.ts";
import { optionsOf, type About } from "./training.ts";

/** Keys of every detection table that the training table does not describe. */
const ABOUT: Record<string, string | About> = {
  videos: { valueName: "DIR", description: "folder of whole videos <video_id>.<video-ext>" },
  videoExt: { valueName: "EXT", description: "file extension of the videos" },
  fps: { range: NON_NEGATIVE, description: "frame rate of the keyframe timestamps' frame indices (the reference data: 25); 0 = each video's own" },
  shortSide: { range: POSITIVE_INT, description: "short side of the decoded frames (the reference: 256)" },
  labelMap: { kind: "text", valueName: "L.pbtxt", description: "label map of the evaluated classes (needed for the mAP)" },
  train: { valueName: "GT.csv", description: "ground-truth CSV of the training keyframes" },
  val: { kind: "text", valueName: "GT.csv", description: "validation ground truth (frame-mAP each epoch with --val-proposals and --label-map)" },
  valProposals: { kind: "text", valueName: "P.csv", description: "person proposals of the validation keyframes" },
  valExcluded: { kind: "text", valueName: "E.csv", description: "validation keyframes left out of the mAP" },
  proposalScore: { range: NON_NEGATIVE, description: "keep proposals whose detector score is at least this" },
  numClasses: { range: POSITIVE_INT, description: "action classes of the head (AVA: 80)" },
  cropSize: { range: POSITIVE_INT, description: "training crop side" },
  flip: "random horizontal flip of clip and boxes",
  colorJitter: "colour jitter in HSV",
  boxJitter: "jitter the ground-truth boxes as the reference does",
  maxBoxes: { range: POSITIVE_INT, description: "at most this many boxes per training clip (the reference: 100)" },
  shuffleLabels: "control experiment: permute the action sets over all training boxes",
  cacheMib: { valueName: "MIB", range: NON_NEGATIVE, description: "MiB of decoded whole videos kept in memory (small datasets: decode once)" },
  checkpoint: { valueName: "CKPT", description: "the detector checkpoint (ours, or a reference-layout .pth with --model)" },
  model: { kind: "text", valueName: "NAME", description: "backbone of a reference-layout .pth (ours carry their config)" },
  proposals: { valueName: "P.csv", description: "person proposals CSV (video_id,timestamp,x1,y1,x2,y2,score)" },
  gt: { kind: "text", valueName: "GT.csv", description: "ground truth for the frame-mAP (without it only detections.csv is written)" },
  excluded: { kind: "text", valueName: "E.csv", description: "keyframes left out of the mAP" },
  capacity: { range: NON_NEGATIVE, description: "top detections kept per keyframe (ActivityNet: 50; VideoMAE's own: 0 = all)" },
  batchSize: { range: POSITIVE_INT, description: "clips per batch" },
  time: { range: NON_NEGATIVE, description: "keyframe time in seconds" },
  boxes: { valueName: "BOXES", description: 'person boxes "x1,y1,x2,y2[,score];…" normalised to [0, 1], or a proposals CSV (its rows at --time)' },
  top: { range: POSITIVE_INT, description: "actions drawn per person" },
  png: { valueName: "FILE.png", description: "where to draw the keyframe with boxes and actions" },
  scale: { range: POSITIVE_INT, description: "picture magnification" },
  trainVideos: { range: POSITIVE_INT, description: "training videos" },
  valVideos: { range: NON_NEGATIVE, description: "validation videos" },
  width: { range: POSITIVE_INT, description: "frame width" },
  height: { range: POSITIVE_INT, description: "frame height" },
  seconds: { range: POSITIVE_INT, description: "length of each video" },
  minActors: { range: POSITIVE_INT, description: "fewest moving shapes (people) per video" },
  maxActors: { range: POSITIVE_INT, description: "most moving shapes per video" },
  classes: { range: POSITIVE_INT, description: "actions (kinds of motion: up, down, grow, swing, …)" },
  noise: { range: NON_NEGATIVE, description: "pixel noise of the proposals' boxes" },
  falseProposalProb: { range: NON_NEGATIVE, description: "probability of a spurious proposal per keyframe" },
};

export const detectTrainOptions = optionsOf(DETECT_TRAIN_DEFAULTS, ABOUT);
export const detectEvalOptions = optionsOf(DETECT_EVAL_DEFAULTS, {
  ...ABOUT,
  out: { valueName: "DIR", description: "where detections.csv, report.txt and report.json go" },
} as Record<string, string | About>);
/** `detect VIDEO`: the video is the operand, so the folder options of the data sets are not asked for. */
const { videos: _videos, videoExt: _videoExt, ...detectVideoDefaults } = DETECT_VIDEO_DEFAULTS;
export const detectVideoOptions = optionsOf(detectVideoDefaults, ABOUT);
export const detectSynthOptions = optionsOf(
  { ...SYNTH_DETECTION_DEFAULTS, out: "" },
  { ...ABOUT, fps: { range: POSITIVE, description: "frame rate of the videos" }, out: { valueName: "DIR", description: "folder of the synthetic set" } } as Record<string, string | About>,
);
