// forward-as is plugins/forward in AssemblyScript, for BenchmarkBoundary:
// every record is produced, key, value and headers referenced from the
// batch, to the topic in config "to".
import { Record, config, onRecord, produce } from "../../../sdk/as/wasmhost";
export { wasmhost_abi_version, wasmhost_handlers, wasmhost_on_batch, wasmhost_on_tick } from "../../../sdk/as/wasmhost";

let to: string | null = null;

function forward(r: Record): string | null {
  if (to === null && (to = config("to")) === null) return "forward: config \"to\" is not set";
  produce(<string>to, r.key, r.value, r.headers);
  return null;
}

onRecord(forward);
