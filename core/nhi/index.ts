// The NHI model: types of the nhi.io/v1alpha1 kinds, their validation and small pure helpers.
export * from "./types.js";
export { createValidator, formatFieldError } from "./validate.js";
export type {
  FieldError,
  FieldErrorReason,
  NHIValidator,
  Parsed,
  ValidateOptions,
} from "./validate.js";
export {
  DurationError,
  MAX_DURATION_MS,
  formatDuration,
  isDuration,
  parseDuration,
  tryParseDuration,
} from "./duration.js";
export { imageGlobProblems, imageMatches, normalizeImage } from "./images.js";
export type { ImageGlobProblem } from "./images.js";
export { findCrdSchema, walkSchema } from "./schema.js";
export type { CelRule, KubeSchema } from "./schema.js";
