// Fails when src/openapi.ts is not what openapi-typescript generates from
// docs/openapi.yaml now (make test runs it): regenerate with `npm run gen`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = join(mkdtempSync(join(tmpdir(), "tokenim-gen-")), "openapi.ts");
execFileSync(process.execPath, [here("../node_modules/openapi-typescript/bin/cli.js"), here("../../../docs/openapi.yaml"), "-o", out], { stdio: ["ignore", "ignore", "inherit"] });
if (readFileSync(out, "utf8") !== readFileSync(here("../src/openapi.ts"), "utf8")) {
  console.error("clients/typescript/src/openapi.ts is out of date with docs/openapi.yaml: run `npm run gen` in clients/typescript and commit it");
  process.exit(1);
}
console.log("src/openapi.ts matches docs/openapi.yaml");
