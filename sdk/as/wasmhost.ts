// wasmhost.ts - the wasmhost plugin SDK for AssemblyScript, ABI version 2.
//
// A plugin's entry file registers its handlers at top level and re-exports
// the SDK's exports (AssemblyScript exports only what the entry file does):
//
//   import { Record, onRecord, produce } from "./wasmhost";
//   export { wasmhost_abi_version, wasmhost_handlers, wasmhost_on_batch, wasmhost_on_tick } from "./wasmhost";
//
//   onRecord((r: Record): string | null => {
//     produce("copy", r.key, r.value, r.headers);
//     return null; // ok; a string fails this record with that reason
//   });
//
// Build it with `wasmhost plugin build`, which runs
//   asc main.ts -O3 --runtime minimal --exportStart _initialize --use abort=wasmhost/wasmhost_abort
// The minimal runtime never collects on its own: the SDK collects garbage
// after every handler call, when nothing of the call is live any more, so a
// plugin allocates freely within a call and memory stays bounded across
// calls. A trap (abort, assert, an array index out of range) is logged with
// its message and location through the host's log, then throws the instance
// away, as a trap in any plugin does.
//
// Memory: a Record and every Bytes in it view the SDK's batch buffer and are
// valid only until the handler returns (the SDK reuses the same objects for
// every record); copy what you keep (Bytes.toString, Bytes.copy). produce
// copies what it is given, except bytes that lie in the batch (a record's
// topic, key, value, headers or part of them), which it references: the
// host reads them when the produced records are handed over, at the end of
// the call or once 1 MiB is pending. docs/abi.md is the contract.

// The ABI version this SDK speaks.
export const ABI_VERSION: i32 = 2;

// Status codes of host functions and exports (docs/abi.md).
export const STATUS_OK: i32 = 0;
export const STATUS_BAD_POINTER: i32 = -1;
export const STATUS_BUFFER_TOO_SMALL: i32 = -2;
export const STATUS_NO_BATCH: i32 = -3;
export const STATUS_BAD_ENCODING: i32 = -4;
export const STATUS_BAD_INDEX: i32 = -5;
export const STATUS_TOO_LARGE: i32 = -6;
export const STATUS_FORBIDDEN: i32 = -7;
export const STATUS_NO_HANDLER: i32 = -8;
export const STATUS_FAILED: i32 = -9;
export const STATUS_BAD_LEVEL: i32 = -10;

// Log levels.
export enum Level { Debug = 0, Info = 1, Warn = 2, Error = 3 }

// The input index of a record produced by a tick.
export const NO_INPUT: u32 = 0xffffffff;

const NULL_LEN: u32 = 0xffffffff;
const BATCH_REF: u32 = 0x80000000;
const BATCH_HEAD: u32 = 8;
const RECORD_DESC: u32 = 56;
const HEADER_DESC: u32 = 16;
const OUTPUT_DESC: u32 = 48;
const FLUSH_SIZE: u32 = 1 << 20;
const HANDLES_BATCHES: i32 = 1;
const HANDLES_TICKS: i32 = 2;

// The host functions (module "wasmhost"), for authors who want the raw ABI.
@external("wasmhost", "batch_read")
export declare function host_batch_read(ptr: usize, len: u32): i32;
@external("wasmhost", "produce")
export declare function host_produce(descs: usize, descsLen: u32, data: usize, dataLen: u32): i32;
@external("wasmhost", "record_fail")
export declare function host_record_fail(index: u32, msg: usize, len: u32): i32;
@external("wasmhost", "log")
export declare function host_log(level: i32, msg: usize, len: u32): i32;
@external("wasmhost", "config_read")
export declare function host_config_read(ptr: usize, cap: u32): i32;

// A byte string: len bytes at ptr, or null (len -1, a Kafka null key or
// value). It keeps alive the buffer it views, when it owns one.
export class Bytes {
  ptr: usize = 0;
  len: i32 = -1;
  private owner: ArrayBuffer | null = null;

  // The null byte string.
  static null(): Bytes { return new Bytes(); }

  // The UTF-8 bytes of s (a copy).
  static fromString(s: string): Bytes {
    return Bytes.fromBuffer(String.UTF8.encode(s));
  }

  // A view of a whole ArrayBuffer.
  static fromBuffer(buf: ArrayBuffer): Bytes {
    const b = new Bytes();
    b.owner = buf;
    b.ptr = changetype<usize>(buf);
    b.len = buf.byteLength;
    return b;
  }

  // A view of len bytes at ptr in memory the caller keeps alive.
  static view(ptr: usize, len: i32): Bytes {
    const b = new Bytes();
    b.ptr = ptr;
    b.len = len;
    return b;
  }

  isNull(): bool { return this.len < 0; }

  // The bytes decoded as UTF-8 ("" for null).
  toString(): string {
    return this.len <= 0 ? "" : String.UTF8.decodeUnsafe(this.ptr, <usize>this.len);
  }

  // Whether the bytes are exactly the UTF-8 encoding of s.
  equals(s: string): bool {
    if (this.len < 0) return false;
    const n = String.UTF8.byteLength(s);
    if (n != this.len) return false;
    if (n == 0) return true;
    // Compare without allocating when s is ASCII.
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return memory.compare(this.ptr, changetype<usize>(String.UTF8.encode(s)), n) == 0;
      if (<i32>load<u8>(this.ptr + <usize>i) != c) return false;
    }
    return true;
  }

  // A copy that owns its bytes (null stays null).
  copy(): Bytes {
    if (this.len < 0) return new Bytes();
    const buf = new ArrayBuffer(this.len);
    memory.copy(changetype<usize>(buf), this.ptr, <usize>this.len);
    return Bytes.fromBuffer(buf);
  }

  // The bytes from start to end (a view of the same memory).
  slice(start: i32, end: i32): Bytes {
    if (start < 0 || end > this.len || start > end) throw new RangeError("Bytes.slice out of range");
    const b = Bytes.view(this.ptr + <usize>start, end - start);
    b.owner = this.owner;
    return b;
  }
}

// One record header; the key is never null.
export class Header {
  constructor(public key: Bytes = new Bytes(), public value: Bytes = new Bytes()) {}
}

// A Kafka record. timestamp is in Unix milliseconds.
export class Record {
  topic: Bytes = new Bytes();
  partition: i32 = -1;
  offset: i64 = 0;
  timestamp: i64 = 0;
  key: Bytes = new Bytes();
  value: Bytes = new Bytes();
  headers: Header[] = [];
}

// A record handler returns null when the record is handled, or the reason
// it failed. A tick handler gets the host's time in Unix milliseconds and
// returns null or a reason that fails the whole tick.
export type RecordHandler = (r: Record) => string | null;
export type TickHandler = (nowMs: i64) => string | null;

let recordFn: RecordHandler | null = null;
let tickFn: TickHandler | null = null;

// Registers the record handler: it runs once per input record, in offset
// order. Call it at the top level of the entry file.
export function onRecord(fn: RecordHandler): void { recordFn = fn; }

// Registers the tick handler, for sources.
export function onTick(fn: TickHandler): void { tickFn = fn; }

// --- buffers in unmanaged memory, reused from call to call ---

class Buf {
  ptr: usize = 0;
  len: u32 = 0;
  cap: u32 = 0;

  // Makes room for n more bytes.
  reserve(n: u32): void {
    const need = <u64>this.len + <u64>n;
    if (need <= <u64>this.cap) return;
    let cap: u64 = this.cap ? <u64>this.cap : 4096;
    while (cap < need) cap *= 2;
    if (cap > 0x7fffffff) throw new RangeError("wasmhost: buffer over 2 GiB");
    this.ptr = this.ptr ? heap.realloc(this.ptr, <usize>cap) : heap.alloc(<usize>cap);
    this.cap = <u32>cap;
  }
}

const batch = new Buf();
let data: usize = 0;     // the batch's data area
let dataLen: u32 = 0;
let refLen: u32 = 0;     // bytes of the data area refs may index: 0 in a tick
const descs = new Buf(); // the next produce call
const out = new Buf();
let active = false;
let input: u32 = NO_INPUT;
let inputTimestamp: i64 = 0;
let callStatus: i32 = STATUS_OK;
let lastTopic: string | null = null; // topic copied at topicRef in out
let topicRef: u32 = 0;
let topicLen: u32 = 0;

const record = new Record();
const headerPool: Header[] = [];

// --- exports: re-export them from the entry file ---

export function wasmhost_abi_version(): i32 { return ABI_VERSION; }

export function wasmhost_handlers(): i32 {
  return (recordFn ? HANDLES_BATCHES : 0) | (tickFn ? HANDLES_TICKS : 0);
}

export function wasmhost_on_batch(batchLen: i32, count: i32): i32 {
  if (!recordFn) return STATUS_NO_HANDLER;
  const st = runBatch(<u32>batchLen, <u32>count, recordFn!);
  endCall();
  return st;
}

export function wasmhost_on_tick(nowMs: i64): i32 {
  if (!tickFn) return STATUS_NO_HANDLER;
  beginCall(NO_INPUT, nowMs);
  refLen = 0;
  const reason = tickFn!(nowMs);
  let st = callStatus;
  if (reason !== null) {
    logString(Level.Error, "tick failed: " + <string>reason);
    st = STATUS_FAILED;
  } else if (st == STATUS_OK && descs.len > 0) {
    flush();
    st = callStatus;
  }
  endCall();
  return st;
}

// wasmhost_abort replaces AssemblyScript's env.abort (plugin build passes
// --use abort=wasmhost/wasmhost_abort): it logs the message and where it
// was raised through the host, then traps, so the host needs no import of
// its own and the reason reaches the daemon's log.
export function wasmhost_abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const m = message === null ? "abort" : <string>message;
  const f = fileName === null ? "?" : <string>fileName;
  logString(Level.Error, "abort: " + m + " at " + f + ":" + line.toString() + ":" + column.toString());
  unreachable();
}

function beginCall(idx: u32, ts: i64): void {
  active = true;
  input = idx;
  inputTimestamp = ts;
  callStatus = STATUS_OK;
  descs.len = 0;
  out.len = 0;
  lastTopic = null;
}

function endCall(): void {
  active = false;
  refLen = 0;
  record.headers.length = 0;
  __collect();
}

function runBatch(batchLen: u32, count: u32, fn: RecordHandler): i32 {
  batch.len = 0;
  batch.reserve(batchLen);
  const n = host_batch_read(batch.ptr, batchLen);
  if (n < 0) return n;
  if (<u32>n < BATCH_HEAD || load<u32>(batch.ptr) != count ||
      <u64>count * RECORD_DESC > <u64>(<u32>n - BATCH_HEAD)) {
    return sdkError("batch header does not match the call");
  }
  data = batch.ptr + BATCH_HEAD + <usize>(count * RECORD_DESC);
  dataLen = <u32>n - BATCH_HEAD - count * RECORD_DESC;
  beginCall(0, 0);
  refLen = dataLen < BATCH_REF ? dataLen : 0;
  for (let i: u32 = 0; i < count; i++) {
    const bad = decode(i);
    if (bad !== null) return sdkError("record " + i.toString() + ": " + <string>bad + " out of range");
    input = i;
    inputTimestamp = record.timestamp;
    const markDescs = descs.len, markOut = out.len, markTopic = lastTopic;
    const reason = fn(record);
    if (callStatus < 0) return callStatus;
    if (reason !== null) {
      descs.len = markDescs; // what the record produced goes with it
      out.len = markOut;
      lastTopic = markTopic;
      const msg = String.UTF8.encode(<string>reason);
      const st = host_record_fail(i, changetype<usize>(msg), <u32>msg.byteLength);
      if (st < 0) return st;
    }
  }
  if (descs.len > 0) flush();
  return callStatus;
}

function sdkError(msg: string): i32 {
  logString(Level.Error, "wasmhost as sdk: " + msg);
  return STATUS_BAD_ENCODING;
}

// span sets b to len bytes at off in the data area; false if out of range.
function span(b: Bytes, off: u32, len: u32, nullable: bool): bool {
  if (len == NULL_LEN && nullable) {
    b.ptr = 0;
    b.len = -1;
    return true;
  }
  if (off > dataLen || len > dataLen - off || len > 0x7fffffff) return false;
  b.ptr = data + <usize>off;
  b.len = <i32>len;
  return true;
}

function decode(i: u32): string | null {
  const d = batch.ptr + BATCH_HEAD + <usize>(i * RECORD_DESC);
  const r = record;
  r.partition = load<i32>(d);
  const hc = load<u32>(d, 4);
  r.offset = load<i64>(d, 8);
  r.timestamp = load<i64>(d, 16);
  if (!span(r.topic, load<u32>(d, 24), load<u32>(d, 28), false)) return "topic";
  if (!span(r.key, load<u32>(d, 32), load<u32>(d, 36), true)) return "key";
  if (!span(r.value, load<u32>(d, 40), load<u32>(d, 44), true)) return "value";
  const hoff = load<u32>(d, 48);
  if (hc > 0 && (hoff > dataLen || hc > (dataLen - hoff) / HEADER_DESC)) return "header descriptors";
  while (<u32>headerPool.length < hc) headerPool.push(new Header());
  const hs = r.headers;
  hs.length = <i32>hc;
  for (let k: u32 = 0; k < hc; k++) {
    const h = headerPool[<i32>k];
    const hd = data + <usize>(hoff + k * HEADER_DESC);
    if (!span(h.key, load<u32>(hd), load<u32>(hd, 4), false)) return "header key";
    if (!span(h.value, load<u32>(hd, 8), load<u32>(hd, 12), true)) return "header value";
    hs[<i32>k] = h;
  }
  return null;
}

// --- producing ---

// ref returns the ref of n bytes at p: into the batch when they lie in it,
// else a copy appended to out (which has room).
function ref(p: usize, n: u32): u32 {
  const off = p - data;
  if (p >= data && off < <usize>refLen && <usize>n <= <usize>refLen - off) return <u32>off | BATCH_REF;
  const r = out.len;
  if (n) memory.copy(out.ptr + <usize>r, p, <usize>n);
  out.len += n;
  return r;
}

function putBytes(d: usize, b: Bytes): void {
  if (b.len < 0) {
    store<u32>(d, 0);
    store<u32>(d, NULL_LEN, 4);
    return;
  }
  store<u32>(d, ref(b.ptr, <u32>b.len));
  store<u32>(d, <u32>b.len, 4);
}

function byteLen(b: Bytes): u32 { return b.len > 0 ? <u32>b.len : 0; }

// topicRefOf copies topic into out unless it is the topic copied last.
function topicRefOf(topic: string): u32 {
  if (lastTopic !== null && changetype<usize>(lastTopic) == changetype<usize>(topic)) return topicRef;
  const n = <u32>String.UTF8.byteLength(topic);
  out.reserve(n);
  topicRef = out.len;
  topicLen = <u32>String.UTF8.encodeUnsafe(changetype<usize>(topic), topic.length, out.ptr + <usize>out.len);
  out.len += topicLen;
  lastTopic = topic;
  return topicRef;
}

function produceFull(topic: string, partition: i32, timestamp: i64, key: Bytes, value: Bytes, headers: Header[] | null): i32 {
  if (!active) return STATUS_NO_BATCH;
  if (callStatus < 0) return callStatus;
  const hn: u32 = headers === null ? 0 : <u32>(<Header[]>headers).length;
  let need: u64 = <u64>String.UTF8.byteLength(topic) + <u64>byteLen(key) + <u64>byteLen(value) + <u64>hn * HEADER_DESC;
  for (let k: u32 = 0; k < hn; k++) {
    const h = headers![<i32>k];
    need += <u64>byteLen(h.key) + <u64>byteLen(h.value);
  }
  if (need > 0x7fffffff) return STATUS_TOO_LARGE;
  if (descs.len > 0 && <u64>descs.len + <u64>out.len + need > <u64>FLUSH_SIZE) {
    const st = flush();
    if (st < 0) return st;
  }
  descs.reserve(OUTPUT_DESC);
  out.reserve(<u32>need);
  const d = descs.ptr + <usize>descs.len;
  descs.len += OUTPUT_DESC;
  store<u32>(d, input);
  store<i32>(d, partition, 4);
  store<i64>(d, timestamp != 0 ? timestamp : inputTimestamp, 8);
  store<u32>(d, topicRefOf(topic), 16);
  store<u32>(d, topicLen, 20);
  putBytes(d + 24, key);
  putBytes(d + 32, value);
  if (hn == 0) {
    store<u64>(d, 0, 40);
    return STATUS_OK;
  }
  const hoff = out.len;
  out.len += hn * HEADER_DESC;
  for (let k: u32 = 0; k < hn; k++) {
    const h = headers![<i32>k];
    const hd = out.ptr + <usize>(hoff + k * HEADER_DESC);
    const key = h.key.len < 0 ? Bytes.view(0, 0) : h.key; // a header key is never null
    putBytes(hd, key);
    putBytes(hd + 8, h.value);
  }
  store<u32>(d, hoff, 40);
  store<u32>(d, hn, 44);
  return STATUS_OK;
}

function flush(): i32 {
  const st = host_produce(descs.ptr, descs.len, out.ptr, out.len);
  descs.len = 0;
  out.len = 0;
  lastTopic = null;
  if (st < 0) {
    logString(Level.Error, "wasmhost as sdk: produce returned " + st.toString());
    callStatus = st;
  }
  return st;
}

// Produces a record to topic, partitioned by key, with the timestamp of the
// input record being handled (or of the tick). Returns STATUS_OK, or a
// negative status outside a handler or after the host refused a whole
// produce call (which fails the call).
export function produce(topic: string, key: Bytes, value: Bytes, headers: Header[] | null = null): i32 {
  return produceFull(topic, -1, 0, key, value, headers);
}

// Produces a full record: its topic, partition (-1: by key), key, value,
// headers and timestamp (0: produce's); the offset is ignored.
export function produceRecord(r: Record): i32 {
  return produceFull(r.topic.toString(), r.partition, r.timestamp, r.key, r.value, r.headers);
}

// --- config and logs ---

let configMap: Map<string, string> | null = null;

// The value of key in the plugin's config, or null when it is not set. The
// host also sets "wasmhost.pipeline", "wasmhost.plugin" and
// "wasmhost.consumer".
export function config(key: string): string | null {
  if (configMap === null) configMap = readConfig();
  const m = configMap!;
  return m.has(key) ? m.get(key) : null;
}

function readConfig(): Map<string, string> {
  const m = new Map<string, string>();
  const n = host_config_read(0, 0);
  if (n < 4) return m;
  const buf = new ArrayBuffer(n);
  const p = changetype<usize>(buf);
  if (host_config_read(p, <u32>n) != n) return m;
  const count = load<u32>(p);
  let off: u32 = 4;
  for (let i: u32 = 0; i < count; i++) {
    if (off + 4 > <u32>n) break;
    const kl = load<u32>(p + <usize>off);
    if (kl > <u32>n - off - 4) break;
    const k = String.UTF8.decodeUnsafe(p + <usize>(off + 4), <usize>kl);
    off += 4 + kl;
    if (off + 4 > <u32>n) break;
    const vl = load<u32>(p + <usize>off);
    if (vl > <u32>n - off - 4) break;
    m.set(k, String.UTF8.decodeUnsafe(p + <usize>(off + 4), <usize>vl));
    off += 4 + vl;
  }
  return m;
}

function logString(level: i32, msg: string): void {
  const b = String.UTF8.encode(msg);
  host_log(level, changetype<usize>(b), <u32>b.byteLength);
}

// Logs a line at a level; the host tags it with the plugin's name.
export function log(level: Level, msg: string): void { logString(level, msg); }
