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
	buf := AppendBatch(nil, recs)
	var r BatchReader
	var rec Record
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = AppendBatch(buf[:0], recs)
		if err := r.Reset(buf); err != nil {
			b.Fatal(err)
		}
		for r.Next(&rec) == nil {
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

// BenchmarkOutputRoundTrip is the same for a produce buffer.
func BenchmarkOutputRoundTrip(b *testing.B) {
	recs := benchRecords(256, 100)
	var buf []byte
	var r OutputReader
	var rec Record
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendCount(buf[:0], uint32(len(recs)))
		for i := range recs {
			buf = AppendOutput(buf, uint32(i), &recs[i])
		}
		if err := r.Reset(buf); err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(&rec); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}
