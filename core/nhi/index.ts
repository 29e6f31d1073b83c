// The NHI model: types of the nhi.io/v1alpha1 kinds, their validation and small pure helpers.
export * from "./types.js";
export { createValidator } from "./validate.js";
export { formatFieldError } from "./validation.js";
export type {
  FieldError,
  FieldErrorReason,
  NHIValidator,
  Parsed,
  ValidateOptions,
} from "./validation.js";
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
