/** Public API of the checkpoint IO layer (pure TypeScript; no native addon). */
export {
  CheckpointFormatError,
  CheckpointIoError,
  FileAccessError,
  ForbiddenGlobalError,
  LegacyCheckpointError,
  LimitExceededError,
  NpyFormatError,
  PickleError,
  SafetensorsFormatError,
  TruncatedFileError,
  ZipFormatError,
} from "./errors.ts";
export { bytesOf, checkRaw, contiguousStrides, copyBytes, numelOf, rawFromBytes, type RawTensor } from "./raw.ts";
export {
  bfloat16ToFloat32,
  float32BitsToBfloat16Bits,
  float32BitsToHalfBits,
  float32ToBfloat16,
  float32ToHalf,
  fromFloat32,
  gatherRows,
  halfBitsToFloat32Bits,
  halfToFloat32,
  toFloat32,
} from "./convert.ts";
export { ZipArchive, type ZipEntry } from "./zip.ts";
export {
  OpaqueObject,
  PickleGlobal,
  pickleStateOf,
  unpickle,
  type CallContext,
  type PickleCallable,
  type UnpickleOptions,
} from "./pickle.ts";
export { STORAGE_DTYPES, TorchStorage, TorchTensor } from "./torch_pickle.ts";
export { openPth, PthFile, type PthTensor, type PthTensorEntry, type StructureItem, type ValueKind } from "./pth.ts";
export {
  DEFAULT_MODEL_KEYS,
  detectKeyPrefixes,
  KNOWN_PREFIXES,
  openStateDict,
  readStateDict,
  selectStateDict,
  stripKeyPrefixes,
  stripPrefixes,
  type KeyPrefixReport,
  type LazyTensor,
  type StateDictOptions,
  type StateDictSource,
} from "./state_dict.ts";
export {
  openSafetensors,
  readSafetensors,
  SafetensorsFile,
  writeSafetensors,
  type SafetensorsEntry,
  type WriteSafetensorsOptions,
} from "./safetensors.ts";
export { decodeNpy, encodeNpy, encodeNpyHeader, readNpy, writeNpy } from "./npy.ts";
