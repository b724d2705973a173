import { configTable } from "../core/config/table.ts";

/** Prints README's configuration table from the config pieces (test/readme.test.ts keeps them in step). */
console.log(configTable());
