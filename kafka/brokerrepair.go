package kafka

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Repair of the embedded broker's data directory after a crash.
//
// kfake stores each partition segment as N.dat (record batches) beside
// N.idx, one fixed-size entry per batch, written by a second write call
// after the batch's. At load it takes a batch's transactional flag from the
// index entry of the same rank. A broker killed between the two writes
// leaves the index one entry short, and every batch written after the
// restart takes its neighbour's entry at the next load: transactional
// batches are then read as plain ones (read_committed readers see aborted
// records, and records of transactions cut short by the crash: duplicates)
// and plain ones as transactional. kfake truncates an index longer than
// its segment, not a shorter one.
//
// The flag is recorded in the batch itself too (its attributes say
// transactional, and control or not), as is the epoch (its partition
// leader epoch), so before the broker starts, repairIndexes rewrites an
// index that disagrees with its segment from the segment, and removes the
// partition's snapshot, so that kfake replays the segments. This reads
// kfake's on-disk layout (version 1, the one the pinned kfake writes); the
// broker kill tests (internal/e2e) fail if a kfake upgrade changes it.
// The same pass rebuilds the idempotent producers' sequence windows from
// the batches (brokerseq.go).

// indexEntrySize and the layout below are kfake's (persist.go):
// [version][crc8 of the rest][epoch int32 LE][max earlier timestamp int64
// LE][flags: bit 0 = in a transaction].
const (
	indexEntrySize   = 15
	indexFormatV1    = 1
	batchAttrTxn     = 0x10
	batchAttrControl = 0x20
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// repairDataDir readies dataDir, as a crash may have left it, for kfake to
// load: it rebuilds every segment index out of step with its segment, and
// the idempotent producers' sequence windows from the batches on disk
// (brokerseq.go). Each segment is read once.
func repairDataDir(dataDir string, log zerolog.Logger) error {
	dirs, err := filepath.Glob(filepath.Join(dataDir, "partitions", "*"))
	if err != nil {
		return err
	}
	var windows []seqWindow
	for _, dir := range dirs {
		w, err := repairPartition(dir, log)
		if err != nil {
			return err
		}
		windows = append(windows, w...)
	}
	if err := mergeSeqWindows(dataDir, windows, log); err != nil {
		return fmt.Errorf("kafka: embedded broker: producer sequence state: %w", err)
	}
	return nil
}

// repairPartition repairs the indexes of one partition directory and
// returns the sequence windows its batches rebuild. A directory whose
// name is not kfake's <escaped topic>-<partition> is not kfake's to load
// and is left alone.
func repairPartition(dir string, log zerolog.Logger) ([]seqWindow, error) {
	topic, part, ok := parsePartDir(filepath.Base(dir))
	if !ok {
		return nil, nil
	}
	segs, err := segmentFiles(dir)
	if err != nil {
		return nil, err
	}
	sb := newSeqBuilder(topic, part)
	for _, seg := range segs {
		raw, err := os.ReadFile(seg)
		if err != nil {
			return nil, fmt.Errorf("kafka: embedded broker: repair %s: %w", seg, err)
		}
		fixed, err := repairIndexData(seg, raw)
		if err != nil {
			return nil, fmt.Errorf("kafka: embedded broker: repair %s: %w", seg, err)
		}
		if fixed {
			log.Warn().Str("segment", seg).Msg("embedded broker: a crash left this segment's index out of step with its records; rebuilt it from them")
		}
		eachBatch(raw, sb.add)
	}
	return sb.windows(log), nil
}

// parsePartDir splits kfake's partition directory name (partDir in
// persist.go: the path-escaped topic, "-", the partition).
func parsePartDir(name string) (string, int32, bool) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return "", 0, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 {
		return "", 0, false
	}
	topic, err := url.PathUnescape(name[:i])
	if err != nil || topic == "" {
		return "", 0, false
	}
	return topic, int32(p), true
}

// segmentFiles lists dir's N.dat segments in offset order, as kfake
// loads them.
func segmentFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type seg struct {
		base int64
		path string
	}
	var segs []seg
	for _, e := range ents {
		name := e.Name()
		base, err := strconv.ParseInt(strings.TrimSuffix(name, ".dat"), 10, 64)
		if e.IsDir() || !strings.HasSuffix(name, ".dat") || err != nil {
			continue
		}
		segs = append(segs, seg{base, filepath.Join(dir, name)})
	}
	slices.SortFunc(segs, func(a, b seg) int { return cmp.Compare(a.base, b.base) })
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = s.path
	}
	return out, nil
}

// repairIndex rebuilds seg's index when it disagrees with seg's batches.
func repairIndex(seg string) (bool, error) {
	raw, err := os.ReadFile(seg)
	if err != nil {
		return false, err
	}
	return repairIndexData(seg, raw)
}

// repairIndexData is repairIndex for a segment already read into raw.
func repairIndexData(seg string, raw []byte) (bool, error) {
	idxPath := strings.TrimSuffix(seg, ".dat") + ".idx"
	idx, err := os.ReadFile(idxPath)
	if err != nil && !os.IsNotExist(err) {
		return false, err
	}
	want := rebuildIndex(raw)
	// Entries past the segment's batches are kfake's to truncate; an
	// index that agrees with every batch it covers is left alone.
	if len(idx) >= len(want) && sameFlags(idx[:len(want)], want) {
		return false, nil
	}
	if err := writeFileSync(idxPath, want); err != nil {
		return false, err
	}
	// A snapshot taken by a broker that loaded the broken index carries
	// the transactions it misread: make kfake replay the segments.
	if err := os.Remove(filepath.Join(filepath.Dir(seg), "snapshot.json")); err != nil && !os.IsNotExist(err) {
		return false, err
	}
	return true, nil
}

// sameFlags compares the epoch and transactional flag of two indexes of
// equal length (the timestamps kfake recomputes at load).
func sameFlags(a, b []byte) bool {
	for i := 0; i+indexEntrySize <= len(b); i += indexEntrySize {
		if a[i] != indexFormatV1 || !bytes.Equal(a[i+2:i+6], b[i+2:i+6]) || a[i+14]&1 != b[i+14]&1 {
			return false
		}
	}
	return true
}

// rebuildIndex derives the index entries of the complete batches in raw.
func rebuildIndex(raw []byte) []byte {
	var out []byte
	var maxTS int64
	eachBatch(raw, func(b *kmsg.RecordBatch) {
		maxTS = max(maxTS, b.MaxTimestamp)
		inTx := b.Attributes&batchAttrTxn != 0 && b.Attributes&batchAttrControl == 0
		out = append(out, indexEntry(b.PartitionLeaderEpoch, maxTS, inTx)...)
	})
	return out
}

// eachBatch calls fn for each batch of the segment raw, in order, up to
// the first one kfake would truncate at load (loadSegmentBatches and
// decodeBatchRaw in persist.go: a short or oversized length, a CRC that
// does not match, a batch that does not decode).
func eachBatch(raw []byte, fn func(*kmsg.RecordBatch)) {
	for pos := 0; pos+12 <= len(raw); {
		l := int(binary.BigEndian.Uint32(raw[pos+8 : pos+12]))
		if l < 0 || l > 1<<30 || pos+12+l > len(raw) {
			return
		}
		b := raw[pos : pos+12+l]
		if len(b) >= 21 && binary.BigEndian.Uint32(b[17:21]) != crc32.Checksum(b[21:], crc32c) {
			return
		}
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			return
		}
		fn(&rb)
		pos += 12 + l
	}
}

func indexEntry(epoch int32, maxEarlierTS int64, inTx bool) []byte {
	var buf [indexEntrySize]byte
	buf[0] = indexFormatV1
	binary.LittleEndian.PutUint32(buf[2:6], uint32(epoch))
	binary.LittleEndian.PutUint64(buf[6:14], uint64(maxEarlierTS))
	if inTx {
		buf[14] = 1
	}
	buf[1] = byte(crc32.Checksum(buf[2:], crc32c))
	return buf[:]
}

// writeFileSync replaces path with data through a synced temporary file.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".repair"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
