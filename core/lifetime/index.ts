export * from "./lifetime.js";
