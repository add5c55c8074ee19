package abi

import (
	"bytes"
	"strconv"
	"testing"
)

// benchRecords returns n records on one topic with an 8-byte key and a
// value of size bytes, the shape of the SDK's per-record budget.
func benchRecords(n, size int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{
			Topic: "users", Partition: int32(i % 6), Offset: int64(1000 + i), Timestamp: 1700000000000 + int64(i),
			Key:   []byte(strconv.Itoa(10000000 + i)),
			Value: bytes.Repeat([]byte{'x'}, size),
		}
	}
	return recs
}

// BenchmarkBatchRoundTrip encodes and decodes a batch of 256 records of 100
// bytes with reused buffers, as the host (encode) and SDK (decode) do.
func BenchmarkBatchRoundTrip(b *testing.B) {
	recs := benchRecords(256, 100)
	var w BatchWriter
	var buf []byte
	var r BatchReader
	var rec Record
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		for i := range recs {
			w.Add(&recs[i])
		}
		buf = w.AppendTo(buf[:0])
		if err := r.Reset(buf); err != nil {
			b.Fatal(err)
		}
		for r.Next(&rec) == nil {
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

// BenchmarkOutputRoundTrip produces every record of a decoded batch, as the
// forward plugin does (by reference), and decodes what it produced, as the
// host does.
func BenchmarkOutputRoundTrip(b *testing.B) {
	recs := benchRecords(256, 100)
	buf := AppendBatch(nil, recs)
	var br BatchReader
	var w OutputWriter
	var r OutputReader
	var in, out Record
	b.ReportAllocs()
	for b.Loop() {
		if err := br.Reset(buf); err != nil {
			b.Fatal(err)
		}
		w.Reset(br.Data())
		for i := 0; br.Next(&in) == nil; i++ {
			w.Add(uint32(i), &in)
		}
		if err := r.Reset(w.Descriptors(), w.Data(), br.Data()); err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(&out); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}
