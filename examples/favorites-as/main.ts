// favorites-as is an example wasmhost plugin in AssemblyScript: it forwards
// the users whose favorite_number is above a threshold (the demo's users
// records: {"name":"Ada","favorite_color":"teal","favorite_number":412}),
// with a header "favorite-color" taken from the record, and drops the rest.
//
// Config:
//
//   min  the threshold; records with favorite_number > min pass (default 500)
//   to   the topic to forward to (required)
//
// A record whose value has no numeric favorite_number fails. The field is
// read with the SDK's JSON reader (json.ts), which finds it without
// decoding the record: a string that contains "favorite_number" or a nested
// object that has one is not mistaken for it.
import { Bytes, Header, Record, config, onRecord, produce } from "../../sdk/as/wasmhost";
import { get } from "../../sdk/as/json";
export { wasmhost_abi_version, wasmhost_handlers, wasmhost_on_batch, wasmhost_on_tick } from "../../sdk/as/wasmhost";

let min: f64 = 500;
let to: string | null = null;
let loaded = false;

function load(): void {
  loaded = true;
  to = config("to");
  const m = config("min");
  if (m !== null) min = parseFloat(<string>m);
}

function handle(r: Record): string | null {
  if (!loaded) load();
  if (to === null) return "favorites-as: config \"to\" is required";
  if (isNaN(min)) return "favorites-as: config \"min\" is not a number";
  const n = get(r.value, "favorite_number");
  if (!n.isNumber()) return "no numeric favorite_number";
  if (n.number() <= min) return null; // dropped: handled, nothing produced
  const headers = r.headers.slice(0);
  const color = get(r.value, "favorite_color");
  if (color.isString()) headers.push(new Header(Bytes.fromString("favorite-color"), Bytes.fromString(<string>color.string())));
  produce(<string>to, r.key, r.value, headers);
  return null;
}

onRecord(handle);
