/**
 * The synthetic motion-classification dataset: seeded scenes whose class is a kind of motion
 * (no single frame carries the label), rendered in TypeScript and encoded to .mp4 with list files
 * in the official formats. See dataset.ts for the on-disk layout and scene.ts for the design.
 */
export { MAX_SYNTH_CLASSES, MIN_SYNTH_CLASSES, SYNTH_CLASSES, synthClasses, type Motion, type SynthClass } from "./classes.ts";
export {
  generateSynthDataset,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  planSynthDataset,
  renderSynthVideo,
  resolveSynthSettings,
  splitSizes,
  SYNTH_DEFAULTS,
  synthScene,
  type SynthOptions,
  type SynthProgress,
  type SynthSettings,
  type SynthSummary,
  type SynthVideo,
} from "./dataset.ts";
export { encodeMp4, type EncodeOptions } from "./encode.ts";
export { SynthEncodeError, SynthError, SynthOptionsError, SynthOutputConflictError } from "./errors.ts";
export { renderScene } from "./render.ts";
export { actorAt, frameNoiseSeed, sampleScene, sceneSeed, type ActorState, type Scene, type SceneSettings, type Split } from "./scene.ts";
