import { createServer } from "node:net";
import { Aedes } from "aedes";

/** Bare Aedes 1.2 with default options: the relay ceiling the pipeline is compared with. */
const port = Number(process.argv[2]);
const aedes = await Aedes.createBroker();
const server = createServer(aedes.handle);
server.listen(port, "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => {
  server.close();
  aedes.close(() => process.exit(0));
});
