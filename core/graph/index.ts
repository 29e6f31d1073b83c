// The identity graph and blast radius (issue 12): who can become whom, and what a leaked token reaches.
export * from "./edges.js";
export * from "./graph.js";
export * from "./radius.js";
export * from "./closure.js";
