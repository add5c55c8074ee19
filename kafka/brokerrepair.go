package kafka

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
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

// repairIndexes checks every segment index under dataDir/partitions and
// rewrites those that disagree with their segment. It returns how many it
// rewrote.
func repairIndexes(dataDir string, log zerolog.Logger) (int, error) {
	segs, err := filepath.Glob(filepath.Join(dataDir, "partitions", "*", "*.dat"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, seg := range segs {
		fixed, err := repairIndex(seg)
		if err != nil {
			return n, fmt.Errorf("kafka: embedded broker: repair %s: %w", seg, err)
		}
		if fixed {
			n++
			log.Warn().Str("segment", seg).Msg("embedded broker: a crash left this segment's index out of step with its records; rebuilt it from them")
		}
	}
	return n, nil
}

// repairIndex rebuilds seg's index when it disagrees with seg's batches.
func repairIndex(seg string) (bool, error) {
	raw, err := os.ReadFile(seg)
	if err != nil {
		return false, err
	}
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
	for pos := 0; pos+12 <= len(raw); {
		l := int(binary.BigEndian.Uint32(raw[pos+8 : pos+12]))
		if l < 0 || pos+12+l > len(raw) {
			break
		}
		var b kmsg.RecordBatch
		if err := b.ReadFrom(raw[pos : pos+12+l]); err != nil {
			break
		}
		maxTS = max(maxTS, b.MaxTimestamp)
		inTx := b.Attributes&batchAttrTxn != 0 && b.Attributes&batchAttrControl == 0
		out = append(out, indexEntry(b.PartitionLeaderEpoch, maxTS, inTx)...)
		pos += 12 + l
	}
	return out
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
