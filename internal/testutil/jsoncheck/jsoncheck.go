// Package jsoncheck holds the C and AssemblyScript SDKs' JSON readers to
// encoding/json: it makes documents (tricky ones and random ones from a
// seed), asks encoding/json what is at each path, hands every (document,
// path) pair to a test plugin running in the host and compares its answers.
//
// The test plugin's contract: for each input record, the value is the
// document and each header named "p" is one path element (an object key, or
// a decimal index where the value is an array); it produces one record whose
// value is "K:payload", K the kind's digit (0 missing, 1 null, 2 bool,
// 3 number, 4 string, 5 object, 6 array) and the payload the decoded string,
// the number formatted with 17 significant digits, "true"/"false", or an
// array's element count (empty for the other kinds). It fails the record
// if its string comparison disagrees with its decoding.
package jsoncheck

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Case is one lookup and what encoding/json says is there.
type Case struct {
	Doc  []byte
	Path []string
	Kind int    // as the plugin's K
	Want string // the payload; for numbers, encoding/json's float64
}

// Tricky documents every run checks.
var Tricky = []string{
	`{"note":"a \"favorite_number\": 1000 in a string } ] { [","nested":{"favorite_number":7},"favorite_number":501}`,
	`{"esc\u0061ped":"tab\there \u00e9 \ud83d\ude00 \/ \\","bad":"\udc00x\ud800","pair":"\uD834\uDD1E"}`,
	`{"dup":1,"dup":{"x":2},"dup":[3,4]}`,
	"{\"\xff\":\"invalid utf-8 key\",\"v\":\"\xc3(\xed\xa0\x80\"}",
	`{"n":[0,-0,1e5,1E-5,-1.5e+300,123456789012345678901234567890,0.1,2.2250738585072014e-308,5e-324]}`,
	`[1,"two",{"three":[3]},[],{},null,true,false]`,
	` { "a" : [ 1 , 2 , { "b" : null } ] , "c" : "}" , "" : "empty key" , "a.b" : 1 } `,
	`{"deep":[[[[[[[[[[{"x":"y"}]]]]]]]]]]}`,
	`"top-level string"`, `42`, `null`, `{}`, `[]`,
}

// Cases returns the lookups on Tricky and on n random documents.
func Cases(t testing.TB, n int, seed uint64) []Case {
	t.Helper()
	docs := append([]string(nil), Tricky...)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for range n {
		var b strings.Builder
		genValue(r, &b, 0)
		docs = append(docs, b.String())
	}
	var cases []Case
	for _, d := range docs {
		var v any
		if err := json.Unmarshal([]byte(d), &v); err != nil {
			t.Fatalf("encoding/json refuses a test document %q: %v", d, err)
		}
		budget := 40
		cases = walk(cases, []byte(d), nil, v, &budget)
	}
	return cases
}

func walk(cases []Case, doc []byte, path []string, v any, budget *int) []Case {
	if *budget--; *budget < 0 {
		return cases
	}
	c := Case{Doc: doc, Path: path}
	switch w := v.(type) {
	case nil:
		c.Kind = 1
	case bool:
		c.Kind, c.Want = 2, strconv.FormatBool(w)
	case float64:
		c.Kind, c.Want = 3, strconv.FormatFloat(w, 'g', -1, 64)
	case string:
		c.Kind, c.Want = 4, w
	case map[string]any:
		c.Kind = 5
		cases = append(cases, Case{Doc: doc, Path: sub(path, "no such key")})
		for k, e := range w {
			cases = walk(cases, doc, sub(path, k), e, budget)
		}
	case []any:
		c.Kind, c.Want = 6, strconv.Itoa(len(w))
		cases = append(cases, Case{Doc: doc, Path: sub(path, strconv.Itoa(len(w)))})
		for i, e := range w {
			cases = walk(cases, doc, sub(path, strconv.Itoa(i)), e, budget)
		}
	}
	return append(cases, c)
}

func sub(path []string, p string) []string { return append(path[:len(path):len(path)], p) }

// Check runs cases through inst in batches and reports every disagreement.
func Check(t *testing.T, inst *host.Instance, cases []Case) {
	t.Helper()
	ctx := context.Background()
	for start := 0; start < len(cases); start += 200 {
		end := min(start+200, len(cases))
		var b host.Batch
		for _, c := range cases[start:end] {
			hs := make([]abi.Header, len(c.Path))
			for i, p := range c.Path {
				hs[i] = abi.Header{Key: "p", Value: []byte(p)}
			}
			b.Add(&abi.Record{Topic: "in", Value: c.Doc, Headers: hs})
		}
		res, err := inst.HandleBatch(ctx, &b)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Failures {
			c := cases[start+int(f.Index)]
			t.Errorf("doc %q path %q: the plugin failed: %s", c.Doc, c.Path, f.Reason)
		}
		if len(res.Outputs) != end-start-len(res.Failures) {
			t.Fatalf("%d outputs for %d lookups", len(res.Outputs), end-start)
		}
		for _, o := range res.Outputs {
			c := cases[start+int(o.Input)]
			if msg := compare(c, string(o.Record.Value)); msg != "" {
				t.Errorf("doc %q path %q: %s", c.Doc, c.Path, msg)
			}
		}
	}
}

func compare(c Case, got string) string {
	kind, payload, ok := strings.Cut(got, ":")
	if !ok || kind != strconv.Itoa(c.Kind) {
		return fmt.Sprintf("got %q, want kind %d (%q)", got, c.Kind, c.Want)
	}
	if c.Kind == 3 {
		g, err1 := strconv.ParseFloat(payload, 64)
		w, err2 := strconv.ParseFloat(c.Want, 64)
		if err1 != nil || err2 != nil || g != w {
			return fmt.Sprintf("number %s, want %s", payload, c.Want)
		}
		return ""
	}
	if c.Kind == 1 || c.Kind == 5 || c.Kind == 0 {
		return ""
	}
	if payload != c.Want {
		return fmt.Sprintf("got %q, want %q", payload, c.Want)
	}
	return ""
}

// Fragments of strings: escapes of every kind, surrogates paired and not,
// multi-byte and invalid UTF-8, and text that looks like JSON.
var fragments = []string{
	"a", "key", "favorite_number", `\"`, `\\`, `\/`, `\b\f\n\r\t`, `\u0041`, `\u00e9`, "é", "😀", `\ud83d\ude00`,
	`\ud800`, `\udfff`, `\ud800\u0041`, "\xff", "\xc3", "\xed\xa0\x80", `{\"x\":1}`, `]`, `,`, `:`, " ", "",
}

func genString(r *rand.Rand, b *strings.Builder) {
	b.WriteByte('"')
	for range r.IntN(4) {
		b.WriteString(fragments[r.IntN(len(fragments))])
	}
	b.WriteByte('"')
}

var numbers = []string{"0", "-0", "7", "-12", "1.5", "1e5", "1E+2", "-2.5e-3", "123456789012345678901", "0.30000000000000004", "1.7976931348623157e308", "4.9e-324"}

func space(r *rand.Rand, b *strings.Builder) {
	if r.IntN(4) == 0 {
		b.WriteString([]string{" ", "\n", "\t ", "\r\n  "}[r.IntN(4)])
	}
}

func genValue(r *rand.Rand, b *strings.Builder, depth int) {
	space(r, b)
	k := r.IntN(8)
	if depth == 0 {
		k = 6 + r.IntN(2)
	} else if depth >= 4 {
		k = r.IntN(6)
	}
	switch k {
	case 0:
		b.WriteString("null")
	case 1:
		b.WriteString([]string{"true", "false"}[r.IntN(2)])
	case 2, 3:
		b.WriteString(numbers[r.IntN(len(numbers))])
	case 4, 5:
		genString(r, b)
	case 6:
		b.WriteByte('{')
		for i := range r.IntN(5) {
			if i > 0 {
				b.WriteByte(',')
			}
			space(r, b)
			genString(r, b)
			space(r, b)
			b.WriteByte(':')
			genValue(r, b, depth+1)
		}
		space(r, b)
		b.WriteByte('}')
	case 7:
		b.WriteByte('[')
		for i := range r.IntN(5) {
			if i > 0 {
				b.WriteByte(',')
			}
			genValue(r, b, depth+1)
		}
		space(r, b)
		b.WriteByte(']')
	}
	space(r, b)
}
