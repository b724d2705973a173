/**
 * Which vehicles a caller may see (issue 17): admins and accounts granted the whole fleet see
 * every vehicle (`groups` null); anyone else the vehicles of the groups granted to it
 * (core/vehicle-groups.ts). Every route declares in `config.vehicles` how it keeps to that:
 *   none      it returns and touches no vehicle data (auth, docs, metrics' fleet totals)
 *   fleet     fleet-wide objects every role reads alike (geofences, alert rules, channels);
 *             operators' writes to alert rules are checked against their groups in the route
 *   param     its `:id` names a vehicle: an invisible one answers 404 before the handler runs
 *   filtered  the handler narrows what it reads and writes to visible vehicles
 *             (core/vehicle-groups.ts: visibleSql, visibleVehicles), and
 *             a `vehicleId` in the query string is checked like `param`
 *   admin     admins only (`access: "write"`): they see everything
 *   device    a vehicle's own ingest (device credentials)
 *   public    open to anyone; returns no vehicle data
 * api/app.ts refuses to start when a route that needs a declaration has none, and
 * test/api/vehicle-scope.test.ts holds the table of every route's rule.
 */
export type VehicleRule = "none" | "fleet" | "param" | "filtered" | "admin" | "device" | "public";
