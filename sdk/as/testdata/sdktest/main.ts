// sdktest exercises the AssemblyScript SDK from inside the sandbox;
// sdk_test.go drives it with the same records as the C SDK's sdktest, and
// expects the same results. What it does depends on the record's value:
//   "produce-then-fail"  produces two records, then fails
//   "big"                produces three 400 KiB records (past the 1 MiB flush)
//   "big-then-fail"      the same, then fails
//   "record"             produceRecord: partition 2 with the input's
//                        timestamp, then partition -1 with timestamp 5
//   "config"             produces config "k" and whether "nokey" is set
//   "log"                logs a 2000-byte line
//   "nulls"              produces a null key and an empty value
//   "inplace"            produces its value, then a record with its own topic
//                        and part of its value as value and header, then
//                        changes the value in place: the host reads the
//                        batch's bytes at the produce call
//   "topics"             produces to three topics
//   "abort"              fails an assertion (a trap, logged by the SDK)
//   anything else        echoes key, value and headers to "echo"
// The tick handler produces "tick <now_ms>" to "ticks", and fails the tick
// after producing when config "tick_fail" is set.
import { Bytes, Header, Level, Record, config, log, onRecord, onTick, produce, produceRecord, STATUS_OK } from "./wasmhost";
export { wasmhost_abi_version, wasmhost_handlers, wasmhost_on_batch, wasmhost_on_tick } from "./wasmhost";

const big = new ArrayBuffer(400 << 10);

function handle(r: Record): string | null {
  if (r.value.equals("produce-then-fail")) {
    produce("out", r.key, Bytes.fromString("one"));
    produce("out", r.key, Bytes.fromString("two"));
    return "failed after producing " + (2).toString();
  }
  if (r.value.equals("big") || r.value.equals("big-then-fail")) {
    memory.fill(changetype<usize>(big), 0x78, <usize>big.byteLength);
    for (let i = 0; i < 3; i++) {
      const st = produce("out", r.key, Bytes.fromBuffer(big));
      if (st != STATUS_OK) return "produce returned " + st.toString();
    }
    return r.value.equals("big") ? null : "big then fail";
  }
  if (r.value.equals("record")) {
    const c = new Record();
    c.topic = Bytes.fromString("out");
    c.partition = 2;
    c.timestamp = 0;
    c.key = r.key;
    c.value = r.value;
    c.headers = r.headers;
    produceRecord(c);
    c.partition = -1;
    c.timestamp = 5;
    produceRecord(c);
    return null;
  }
  if (r.value.equals("config")) {
    const k = config("k");
    produce("out", Bytes.fromString(config("nokey") !== null ? "nokey set" : "nokey unset"), Bytes.fromString(k === null ? "(k unset)" : <string>k));
    return null;
  }
  if (r.value.equals("log")) {
    log(Level.Warn, "L".repeat(2000));
    return null;
  }
  if (r.value.equals("nulls")) {
    produce("out", Bytes.null(), Bytes.fromString(""));
    return null;
  }
  if (r.value.equals("inplace")) {
    produce("out", r.key, r.value);
    const part = r.value.slice(2, 7); // "place"
    const c = new Record();
    c.topic = r.topic;
    c.partition = r.partition;
    c.timestamp = r.timestamp;
    c.key = r.key;
    c.value = part;
    c.headers = [new Header(r.headers[0].key, part)];
    produceRecord(c);
    store<u8>(r.value.ptr, 0x49); // 'I': the SDK's buffer is writable
    store<u8>(r.value.ptr + 2, 0x50); // 'P'
    return null;
  }
  if (r.value.equals("topics")) {
    for (let i = 0; i < 3; i++) {
      const topic = "t" + i.toString();
      produce(topic, Bytes.null(), Bytes.fromString(topic));
    }
    return null;
  }
  if (r.value.equals("abort")) {
    assert(false, "asked to abort");
  }
  produce("echo", r.key, r.value, r.headers);
  return null;
}

function tick(nowMs: i64): string | null {
  produce("ticks", Bytes.null(), Bytes.fromString("tick " + nowMs.toString()));
  if (config("tick_fail") !== null) return "asked to fail the tick";
  return null;
}

onRecord(handle);
onTick(tick);
