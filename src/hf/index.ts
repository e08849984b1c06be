/** The Hugging Face-shaped API: model classes with fromPretrained/savePretrained, the image processor. */
export { VideoMAEForPreTraining, VideoMAEForVideoClassification, VideoMAEModel, type FromPretrainedOptions } from "./models.ts";
export { ProcessorConfigError, VideoMAEImageProcessor, processorConfigFor, type PreprocessorConfig, type ProcessorOptions } from "./processor.ts";
