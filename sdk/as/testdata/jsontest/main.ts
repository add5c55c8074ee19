// jsontest answers JSON lookups with json.ts, for json_test.go to compare
// with encoding/json (the contract is internal/testutil/jsoncheck's): the
// record's value is a document, each header "p" one path element; it
// produces "K:payload" to "out". A record whose key is set looks up the key
// as a dotted path with get instead.
import { Bytes, Record, onRecord, produce } from "./wasmhost";
import { JSONValue, Kind, get, parse } from "./json";
export { wasmhost_abi_version, wasmhost_handlers, wasmhost_on_batch, wasmhost_on_tick } from "./wasmhost";

function isIndex(s: string): bool {
  if (s.length == 0 || s.length > 9 || (s.length > 1 && s.charCodeAt(0) == 0x30)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function handle(r: Record): string | null {
  let v: JSONValue;
  if (!r.key.isNull()) {
    v = get(r.value, r.key.toString());
  } else {
    v = parse(r.value);
    for (let i = 0; i < r.headers.length; i++) {
      const p = r.headers[i].value.toString();
      if (v.kind == Kind.Array) v = isIndex(p) ? v.index(I32.parseInt(p)) : new JSONValue();
      else v = v.key(p);
    }
  }
  let out = (<i32>v.kind).toString() + ":";
  if (v.kind == Kind.Bool) {
    out += v.bool() ? "true" : "false";
  } else if (v.kind == Kind.Number) {
    out += v.number().toString();
  } else if (v.kind == Kind.String) {
    const s = v.string();
    if (s === null) return "string() refused a string";
    if (!v.equals(<string>s)) return "equals disagrees with string()";
    out += <string>s;
  } else if (v.kind == Kind.Array) {
    let n = 0;
    for (let it = v.iter(); it.next(); ) n++;
    out += n.toString();
  }
  produce("out", Bytes.null(), Bytes.fromString(out));
  return null;
}

onRecord(handle);
