import mqtt from "mqtt";

/**
 * One subscriber on fleet/+/location at QoS 1 (the relay benchmarks' consumer). Answers each
 * line on stdin with its current count, so the bench samples it without a reporting lag.
 */
const [url, topic = "fleet/+/location"] = process.argv.slice(2);
const client = await mqtt.connectAsync(url as string, {
  clientId: `bench-sub-${process.pid}`,
  reconnectPeriod: 0,
});
let received = 0;
client.on("message", () => {
  received++;
});
await client.subscribeAsync(topic, { qos: 1 });
process.stdout.write("ready\n");
process.stdin.on("data", () => process.stdout.write(`${received}\n`));
process.on("SIGTERM", () => process.exit(0));
