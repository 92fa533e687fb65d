// Bundles the UI's JavaScript and CSS into dist/, which the Go binary embeds.
import * as esbuild from "esbuild";

await esbuild.build({
  entryPoints: { app: "src/app.js", editor: "src/editor.js", style: "src/app.css" },
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ["chrome100", "safari15", "firefox100"],
  outdir: "dist",
  logLevel: "info",
});
