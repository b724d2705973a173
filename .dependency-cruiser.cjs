// The import rules of docs/architecture.md ("Import rules"), checked by `npm run lint`.
// Process folders talk through core/ (contracts) and through Redis, BullMQ and PostgreSQL, never
// through each other's code, except where the architecture document names the reason.
const PROCESSES = "^(broker|bridge|worker|api|simulator|scripts)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A cycle makes two modules one: neither can be read, tested or moved alone.",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-imports-no-process",
      severity: "error",
      comment: "core/ holds the contracts every process shares; it must not depend on any of them.",
      from: { path: "^core/" },
      to: { path: "^(broker|bridge|worker|api|ui|simulator|scripts|load|test)/" },
    },
    {
      name: "ui-imports-only-ui",
      severity: "error",
      comment: "The browser bundle is built from ui/ alone; server code must not leak into it.",
      from: { path: "^ui/" },
      to: { path: "^(?!ui/)", dependencyTypesNot: ["npm", "npm-dev", "core", "type-only"] },
    },
    {
      name: "ui-imports-only-ui-types",
      severity: "error",
      comment: "Not even types: ui/ declares the shapes it reads from the API itself.",
      from: { path: "^ui/" },
      to: { path: "^(broker|bridge|worker|api|simulator|scripts|core|load|test)/" },
    },
    {
      name: "process-imports-no-process",
      severity: "error",
      comment:
        "Processes share contracts through core/. Allowed exceptions (docs/architecture.md): broker/ and api/ " +
        "host the bridge (MQTT and HTTP ingest run bridge/ in their own process).",
      from: { path: PROCESSES },
      to: {
        path: PROCESSES,
        pathNot: [
          "^$1/", // its own folder
          "^bridge/",
        ],
      },
    },
    {
      name: "bridge-hosted-only-by-broker-and-api",
      severity: "error",
      comment: "Only the two processes that run the bridge in-process may import it.",
      from: { path: "^(worker|simulator|scripts)/" },
      to: { path: "^bridge/" },
    },
    {
      name: "product-imports-no-harness",
      severity: "error",
      comment: "Tests and load tools may import the product; the product never imports them.",
      // scripts/soak*.ts is a load tool that drives the bench's pipeline; scripts/screenshots.ts
      // launches the UI tests' Chromium (test/ui/browser.ts)
      from: {
        path: "^(core|broker|bridge|worker|api|ui|simulator|scripts)/",
        pathNot: "^scripts/(soak|screenshots)",
      },
      to: { path: "^(test|load)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist|\\.data)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".tsx", ".js", ".mjs", ".cjs", ".d.ts"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
