// Bundles the SDK for a <script> tag: dist/tokenim.browser.js defines
// window.TokenIM. The demo page (infra/local/demo, embedded into the local
// gateway's binary, so it cannot read this folder) serves a copy as
// tokenim.js; `node scripts/bundle.mjs --check` fails when that copy is
// not this build (make test runs it).
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const demoCopy = here("../../../infra/local/demo/tokenim.js");
const result = await build({
  entryPoints: [here("../src/index.ts")],
  bundle: true,
  format: "iife",
  globalName: "TokenIM",
  target: "es2020",
  write: false,
  legalComments: "none",
  banner: { js: "// @tokenim/client browser bundle, built from clients/typescript by `npm run build`: do not edit." },
});
const code = result.outputFiles[0].text;
writeFileSync(here("../dist/tokenim.browser.js"), code);
if (process.argv.includes("--check")) {
  let have = "";
  try {
    have = readFileSync(demoCopy, "utf8");
  } catch {}
  if (have !== code) {
    console.error("infra/local/demo/tokenim.js is not the current SDK build: run `npm run build` in clients/typescript and commit it");
    process.exit(1);
  }
  console.log("infra/local/demo/tokenim.js is up to date");
} else {
  writeFileSync(demoCopy, code);
}
