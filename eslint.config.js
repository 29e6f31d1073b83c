// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { layerConfigs } from "./eslint.layers.js";

const CORE_IS_PURE = {
  group: [
    "node:*",
    "fs",
    "http",
    "https",
    "net",
    "child_process",
    "@kubernetes/*",
    "express",
    "winston",
    "prom-client",
  ],
  message: "core/ is pure: do the I/O at the edge (operator/, webhooks/, cli/) and pass data in.",
};

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "e2e/toolchain/**", ".e2e/**", "charts/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "always"],
    },
  },
  {
    // chai's property assertions (`expect(x).to.be.empty`) are expressions by design.
    files: ["test/**/*.ts", "e2e/**/*.ts"],
    rules: { "@typescript-eslint/no-unused-expressions": "off" },
  },
  {
    // core/ is pure: no I/O, no clock, no logging (DESIGN.md). Enforced, not just hoped for.
    files: ["core/**/*.ts"],
    rules: {
      "no-restricted-globals": [
        "error",
        "console",
        "process",
        "setTimeout",
        "setInterval",
        "fetch",
      ],
      "no-restricted-properties": [
        "error",
        {
          object: "Math",
          property: "random",
          message: "core/ is deterministic; take randomness as a parameter.",
        },
        { object: "Date", property: "now", message: "core/ takes the time as a parameter." },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: "core/ takes the time as a parameter.",
        },
      ],
    },
  },
  // Who may import whom (docs/ARCHITECTURE.md, "Layers"); core's purity patterns ride along, since
  // one file gets one no-restricted-imports setting.
  ...layerConfigs({ extraFor: (part) => (part === "core" ? [CORE_IS_PURE] : []) }),
);
