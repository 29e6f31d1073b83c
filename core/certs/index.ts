// The webhook serving certificate's decisions (see plan.ts).
export * from "./plan.js";
