// Field paths as the API server prints them: "spec.credentials[0].renewBefore".
import { isRecord } from "../json.js";
import type { KubeSchema } from "./schema.js";

export const child = (path: string, name: string): string =>
  path === "" ? name : `${path}.${name}`;
export const index = (path: string, i: number | string): string => `${path}[${i}]`;

/** Renders a JSON pointer ("/spec/credentials/0/ttl") as the API server does: "spec.credentials[0].ttl". */
export function renderPointer(
  schema: KubeSchema,
  pointer: string,
): { path: string; node: KubeSchema | undefined } {
  let path = "";
  let node: KubeSchema | undefined = schema;
  if (pointer === "") return { path, node };
  for (const raw of pointer.slice(1).split("/")) {
    const tok = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (node?.properties?.[tok] !== undefined) {
      path = child(path, tok);
      node = node.properties[tok];
    } else if (node?.items !== undefined && /^\d+$/.test(tok)) {
      path = index(path, tok);
      node = node.items;
    } else if (node !== undefined && isRecord(node.additionalProperties)) {
      path = child(path, tok); // map keys as the API server prints them: matchLabels.app

      node = node.additionalProperties as KubeSchema;
    } else {
      path = child(path, tok);
      node = undefined;
    }
  }
  return { path, node };
}
