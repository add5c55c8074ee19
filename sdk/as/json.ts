// json.ts - read fields of JSON values without decoding them, for wasmhost
// plugins in AssemblyScript: the same reader as the Go SDK's sdk/json and the
// C SDK's wasmhost_json.h.
//
//   import { get } from "./json";
//   const n = get(r.value, "favorite_number");
//   if (n.isNumber() && n.number() > 500) ...
//   if (get(r.value, "user.country").equals("NO")) ...
//   for (let it = get(r.value, "items").iter(); it.next(); ) it.value ...
//
// A JSONValue views the document and is valid as long as it is; reading
// copies nothing (a lookup allocates its small result object, which the SDK
// collects after the call). On a well-formed document the results are what
// Go's encoding/json decodes (tests hold them together): keys and strings
// compare after escapes are resolved, a key given twice means its last
// value, invalid UTF-8 and unpaired surrogates read as U+FFFD. The reader
// checks the structure it walks through and the value it returns, not the
// insides of objects and arrays it skips; on a malformed document it finds a
// value or Kind.Missing, and never reads out of bounds.
import { Bytes } from "./wasmhost";

export enum Kind { Missing = 0, Null, Bool, Number, String, Object, Array }

function isSpace(c: u32): bool { return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d; }

function skipSpace(p: usize, end: usize): usize {
  while (p < end && isSpace(load<u8>(p))) p++;
  return p;
}

function hex4(p: usize, end: usize): i32 {
  if (end - p < 4 || p > end) return -1;
  let r: i32 = 0;
  for (let i: usize = 0; i < 4; i++) {
    let c = <i32>load<u8>(p + i);
    if (c >= 0x30 && c <= 0x39) c -= 0x30;
    else if (c >= 0x61 && c <= 0x66) c -= 0x57;
    else if (c >= 0x41 && c <= 0x46) c -= 0x37;
    else return -1;
    r = (r << 4) | c;
  }
  return r;
}

// stringEnd returns the address past the closing quote of the string at p,
// or 0 when it is malformed.
function stringEnd(p: usize, end: usize): usize {
  for (p++; p < end; p++) {
    const c = load<u8>(p);
    if (c == 0x22) return p + 1;
    if (c < 0x20) return 0;
    if (c == 0x5c) {
      if (++p >= end) return 0;
      const e = load<u8>(p);
      if (e == 0x75) {
        if (hex4(p + 1, end) < 0) return 0;
        p += 4;
      } else if (e != 0x22 && e != 0x5c && e != 0x2f && e != 0x62 && e != 0x66 && e != 0x6e && e != 0x72 && e != 0x74) {
        return 0;
      }
    }
  }
  return 0;
}

function digits(p: usize, end: usize): usize {
  while (p < end && load<u8>(p) >= 0x30 && load<u8>(p) <= 0x39) p++;
  return p;
}

function numberEnd(p: usize, end: usize): usize {
  if (p < end && load<u8>(p) == 0x2d) p++;
  if (p < end && load<u8>(p) == 0x30) p++;
  else if (p < end && load<u8>(p) >= 0x31 && load<u8>(p) <= 0x39) p = digits(p, end);
  else return 0;
  if (p < end && load<u8>(p) == 0x2e) {
    const q = digits(p + 1, end);
    if (q == p + 1) return 0;
    p = q;
  }
  if (p < end && (load<u8>(p) == 0x65 || load<u8>(p) == 0x45)) {
    p++;
    if (p < end && (load<u8>(p) == 0x2b || load<u8>(p) == 0x2d)) p++;
    const q = digits(p, end);
    if (q == p) return 0;
    p = q;
  }
  return p;
}

function literal(p: usize, end: usize, word: string): usize {
  const n = <usize>word.length;
  if (end - p < n) return 0;
  for (let i: usize = 0; i < n; i++) if (<i32>load<u8>(p + i) != word.charCodeAt(<i32>i)) return 0;
  return p + n;
}

// scan sets v to the value at p; Kind.Missing when there is none.
function scan(v: JSONValue, p: usize, end: usize): void {
  v.ptr = p;
  v.len = 0;
  v.kind = Kind.Missing;
  if (p >= end) return;
  const c = load<u8>(p);
  let q: usize = 0;
  let k = Kind.Number;
  if (c == 0x22) {
    q = stringEnd(p, end);
    k = Kind.String;
  } else if (c == 0x7b || c == 0x5b) {
    let depth = 0;
    for (q = p; q < end; q++) {
      const b = load<u8>(q);
      if (b == 0x22) {
        q = stringEnd(q, end);
        if (q == 0) break;
        q--;
      } else if (b == 0x7b || b == 0x5b) {
        depth++;
      } else if (b == 0x7d || b == 0x5d) {
        if (--depth == 0) break;
      }
    }
    q = q != 0 && q < end ? q + 1 : 0;
    k = c == 0x7b ? Kind.Object : Kind.Array;
  } else if (c == 0x74) {
    q = literal(p, end, "true");
    k = Kind.Bool;
  } else if (c == 0x66) {
    q = literal(p, end, "false");
    k = Kind.Bool;
  } else if (c == 0x6e) {
    q = literal(p, end, "null");
    k = Kind.Null;
  } else {
    q = numberEnd(p, end);
  }
  if (q == 0) return;
  v.len = <i32>(q - p);
  v.kind = k;
}

// decodeChar decodes one character of a string's contents at p as
// encoding/json does, as a code point; the bytes it took are in charLen.
let charLen: usize = 0;
function decodeChar(p: usize, end: usize): u32 {
  const c = <u32>load<u8>(p);
  if (c != 0x5c) {
    if (c < 0x80) { charLen = 1; return c; }
    let n: usize = 0;
    let lo: u32 = 0x80, hi: u32 = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) { n = 3; if (c == 0xe0) lo = 0xa0; if (c == 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 4; if (c == 0xf0) lo = 0x90; if (c == 0xf4) hi = 0x8f; }
    if (n == 0 || end - p < n || <u32>load<u8>(p + 1) < lo || <u32>load<u8>(p + 1) > hi) { charLen = 1; return 0xfffd; }
    for (let i: usize = 2; i < n; i++) {
      const b = <u32>load<u8>(p + i);
      if (b < 0x80 || b > 0xbf) { charLen = 1; return 0xfffd; }
    }
    charLen = n;
    if (n == 2) return (c & 0x1f) << 6 | (<u32>load<u8>(p + 1) & 0x3f);
    if (n == 3) return (c & 0x0f) << 12 | (<u32>load<u8>(p + 1) & 0x3f) << 6 | (<u32>load<u8>(p + 2) & 0x3f);
    return (c & 0x07) << 18 | (<u32>load<u8>(p + 1) & 0x3f) << 12 | (<u32>load<u8>(p + 2) & 0x3f) << 6 | (<u32>load<u8>(p + 3) & 0x3f);
  }
  charLen = 2;
  const e = <u32>load<u8>(p + 1);
  if (e == 0x62) return 0x08;
  if (e == 0x66) return 0x0c;
  if (e == 0x6e) return 0x0a;
  if (e == 0x72) return 0x0d;
  if (e == 0x74) return 0x09;
  if (e != 0x75) return e; // " \ /
  let r = <u32>hex4(p + 2, end);
  charLen = 6;
  if (r < 0xd800 || r > 0xdfff) return r;
  if (r < 0xdc00 && end - p >= 12 && load<u8>(p + 6) == 0x5c && load<u8>(p + 7) == 0x75) {
    const r2 = hex4(p + 8, end);
    if (r2 >= 0xdc00 && r2 <= 0xdfff) {
      charLen = 12;
      return 0x10000 + ((r - 0xd800) << 10) + (<u32>r2 - 0xdc00);
    }
  }
  return 0xfffd;
}

// strEq reports whether the string contents [p, end) decode to s.
function strEq(p: usize, end: usize, s: string): bool {
  let j = 0;
  const n = s.length;
  while (p < end) {
    let cp = decodeChar(p, end);
    p += charLen;
    if (j >= n) return false;
    let sc = <u32>s.charCodeAt(j++);
    if (sc >= 0xd800 && sc < 0xdc00 && j < n) {
      const lo = <u32>s.charCodeAt(j);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        sc = 0x10000 + ((sc - 0xd800) << 10) + (lo - 0xdc00);
        j++;
      }
    }
    if (sc != cp) return false;
  }
  return j == n;
}

// A JSON value: its text in the document and its kind.
export class JSONValue {
  ptr: usize = 0;
  len: i32 = 0;
  kind: Kind = Kind.Missing;

  exists(): bool { return this.kind != Kind.Missing; }
  isNull(): bool { return this.kind == Kind.Null; }
  isBool(): bool { return this.kind == Kind.Bool; }
  isNumber(): bool { return this.kind == Kind.Number; }
  isString(): bool { return this.kind == Kind.String; }

  // The value's JSON text (null Bytes when Missing).
  raw(): Bytes { return this.kind == Kind.Missing ? new Bytes() : Bytes.view(this.ptr, this.len); }

  // A boolean's value (false for any other kind).
  bool(): bool { return this.kind == Kind.Bool && load<u8>(this.ptr) == 0x74; }

  // A number's value (NaN for any other kind).
  number(): f64 {
    if (this.kind != Kind.Number) return NaN;
    return parseFloat(String.UTF8.decodeUnsafe(this.ptr, <usize>this.len));
  }

  // A string's decoded text (null for any other kind).
  string(): string | null {
    if (this.kind != Kind.String) return null;
    const end = this.ptr + <usize>this.len - 1;
    let plain = true;
    for (let p = this.ptr + 1; p < end; p++) {
      const c = load<u8>(p);
      if (c == 0x5c || c >= 0x80) { plain = false; break; }
    }
    if (plain) return String.UTF8.decodeUnsafe(this.ptr + 1, <usize>this.len - 2);
    // Decoded, a character takes at most 3 bytes per byte of its escaped form.
    const buf = new ArrayBuffer(this.len * 3);
    const b = changetype<usize>(buf);
    let n: usize = 0;
    for (let p = this.ptr + 1; p < end; ) {
      const r = decodeChar(p, end);
      p += charLen;
      if (r < 0x80) {
        store<u8>(b + n++, <u8>r);
      } else if (r < 0x800) {
        store<u8>(b + n++, <u8>(0xc0 | r >> 6));
        store<u8>(b + n++, <u8>(0x80 | (r & 0x3f)));
      } else if (r < 0x10000) {
        store<u8>(b + n++, <u8>(0xe0 | r >> 12));
        store<u8>(b + n++, <u8>(0x80 | ((r >> 6) & 0x3f)));
        store<u8>(b + n++, <u8>(0x80 | (r & 0x3f)));
      } else {
        store<u8>(b + n++, <u8>(0xf0 | r >> 18));
        store<u8>(b + n++, <u8>(0x80 | ((r >> 12) & 0x3f)));
        store<u8>(b + n++, <u8>(0x80 | ((r >> 6) & 0x3f)));
        store<u8>(b + n++, <u8>(0x80 | (r & 0x3f)));
      }
    }
    return String.UTF8.decodeUnsafe(b, n);
  }

  // Whether this is a string whose decoded text is s.
  equals(s: string): bool {
    return this.kind == Kind.String && strEq(this.ptr + 1, this.ptr + <usize>this.len - 1, s);
  }

  // The member named key (the last one when the key is there twice).
  key(key: string): JSONValue {
    const found = new JSONValue();
    if (this.kind != Kind.Object) return found;
    const end = this.ptr + <usize>this.len;
    let p = skipSpace(this.ptr + 1, end);
    if (p < end && load<u8>(p) == 0x7d) return found;
    const m = new JSONValue();
    while (p < end && load<u8>(p) == 0x22) {
      const kend = stringEnd(p, end);
      if (kend == 0) break;
      const match = strEq(p + 1, kend - 1, key);
      p = skipSpace(kend, end);
      if (p >= end || load<u8>(p) != 0x3a) break;
      p = skipSpace(p + 1, end);
      scan(m, p, end);
      if (m.kind == Kind.Missing) break;
      if (match) { found.ptr = m.ptr; found.len = m.len; found.kind = m.kind; }
      p = skipSpace(p + <usize>m.len, end);
      if (p < end && load<u8>(p) == 0x7d) return found;
      if (p >= end || load<u8>(p) != 0x2c) break;
      p = skipSpace(p + 1, end);
    }
    return new JSONValue();
  }

  // Element i of an array.
  index(i: i32): JSONValue {
    const it = this.iter();
    while (it.next()) if (i-- == 0) return it.value;
    return new JSONValue();
  }

  // The value at a dotted path below this one: "user.address.city",
  // "items.0.id" (a number indexes an array). A key holding a dot needs key.
  get(path: string): JSONValue {
    let v: JSONValue = this;
    if (path.length == 0) return v;
    const parts = path.split(".");
    for (let i = 0; i < parts.length && v.kind != Kind.Missing; i++) {
      const part = parts[i];
      if (v.kind == Kind.Array) {
        if (!isIndex(part)) return new JSONValue();
        v = v.index(I32.parseInt(part));
      } else {
        v = v.key(part);
      }
    }
    return v;
  }

  // An iterator over an array's elements (none unless this is an array).
  iter(): JSONIter { return new JSONIter(this); }
}

function isIndex(s: string): bool {
  if (s.length == 0 || s.length > 9 || (s.length > 1 && s.charCodeAt(0) == 0x30)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

// An iterator over an array: for (let it = v.iter(); it.next(); ) it.value
export class JSONIter {
  value: JSONValue = new JSONValue();
  private p: usize;
  private end: usize;
  private started: bool = false;
  private done: bool;

  constructor(v: JSONValue) {
    this.p = v.ptr;
    this.end = v.ptr + <usize>v.len;
    this.done = v.kind != Kind.Array;
  }

  // Moves to the next element; false at the end or at a malformed element.
  next(): bool {
    if (this.done) return false;
    let p = skipSpace(this.p + 1, this.end);
    if (!this.started && p < this.end && load<u8>(p) == 0x5d) { this.done = true; return false; }
    this.started = true;
    const e = new JSONValue();
    scan(e, p, this.end);
    if (e.kind == Kind.Missing) { this.done = true; return false; }
    p = skipSpace(p + <usize>e.len, this.end);
    if (p >= this.end || (load<u8>(p) != 0x2c && load<u8>(p) != 0x5d)) { this.done = true; return false; }
    this.done = load<u8>(p) == 0x5d;
    this.p = p;
    this.value = e;
    return true;
  }
}

// The document's top-level value (space around it allowed, nothing else).
export function parse(doc: Bytes): JSONValue {
  const v = new JSONValue();
  if (doc.len <= 0) return v;
  const end = doc.ptr + <usize>doc.len;
  scan(v, skipSpace(doc.ptr, end), end);
  if (v.kind != Kind.Missing && skipSpace(v.ptr + <usize>v.len, end) != end) v.kind = Kind.Missing;
  return v;
}

// The value at a dotted path in doc (see JSONValue.get).
export function get(doc: Bytes, path: string): JSONValue { return parse(doc).get(path); }
