package json

import (
	"errors"
	"unicode/utf8"
)

// Errors of Set.
var (
	ErrNotObject = errors.New("json: the document is not an object")
	ErrSyntax    = errors.New("json: malformed document")
	ErrBadValue  = errors.New("json: the new value is not one JSON value")
)

// Set appends to dst the object doc with its top-level member key set to
// the JSON text value: the member's value is replaced where it is (the last
// one, if the key is there twice) or, when key is absent, the member is
// added at the end. The rest of doc is copied byte for byte. It does not
// allocate when dst has room.
//
//	out, err := json.Set(buf[:0], r.Value, "seen", []byte("true"))
func Set(dst, doc []byte, key string, value []byte) ([]byte, error) {
	if end, k := valueAt(value); k == Missing || end != len(value) {
		return dst, ErrBadValue
	}
	return set(dst, doc, key, value, "", false)
}

// SetString is Set with a string value, quoted and escaped.
func SetString(dst, doc []byte, key, s string) ([]byte, error) {
	return set(dst, doc, key, nil, s, true)
}

// valueAt scans one value with optional surrounding space.
func valueAt(b []byte) (int, Kind) {
	end, k := value(b, skipSpace(b, 0))
	return skipSpace(b, end), k
}

func set(dst, doc []byte, key string, raw []byte, s string, quote bool) ([]byte, error) {
	start, end, closing, err := findMember(doc, key)
	if err != nil {
		return dst, err
	}
	if start >= 0 {
		dst = append(dst, doc[:start]...)
		dst = appendNew(dst, raw, s, quote)
		return append(dst, doc[end:]...), nil
	}
	// Absent: add it before the closing brace.
	dst = append(dst, doc[:closing]...)
	if !emptyObject(doc, closing) {
		dst = append(dst, ',')
	}
	dst = AppendQuote(dst, key)
	dst = append(dst, ':')
	dst = appendNew(dst, raw, s, quote)
	return append(dst, doc[closing:]...), nil
}

func appendNew(dst, raw []byte, s string, quote bool) []byte {
	if quote {
		return AppendQuote(dst, s)
	}
	return append(dst, raw...)
}

// emptyObject reports whether only space lies between the object's opening
// brace and its closing one at closing.
func emptyObject(doc []byte, closing int) bool {
	i := skipSpace(doc, 0)
	return skipSpace(doc, i+1) == closing
}

// findMember walks the top-level object of doc and returns the span of the
// last value named key (start -1 when there is none) and the index of the
// closing brace.
func findMember(doc []byte, key string) (start, end, closing int, err error) {
	start = -1
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		if _, k := valueAt(doc); k != Missing {
			return -1, 0, 0, ErrNotObject
		}
		return -1, 0, 0, ErrSyntax
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return start, 0, i, trailing(doc, i+1)
	}
	for i < len(doc) {
		if doc[i] != '"' {
			break
		}
		kend, ok := stringEnd(doc, i)
		if !ok {
			break
		}
		match := equalString(doc[i+1:kend-1], key)
		i = skipSpace(doc, kend)
		if i >= len(doc) || doc[i] != ':' {
			break
		}
		i = skipSpace(doc, i+1)
		vend, k := value(doc, i)
		if k == Missing {
			break
		}
		if match {
			start, end = i, vend
		}
		i = skipSpace(doc, vend)
		if i < len(doc) && doc[i] == '}' {
			return start, end, i, trailing(doc, i+1)
		}
		if i >= len(doc) || doc[i] != ',' {
			break
		}
		i = skipSpace(doc, i+1)
	}
	return -1, 0, 0, ErrSyntax
}

func trailing(doc []byte, i int) error {
	if skipSpace(doc, i) != len(doc) {
		return ErrSyntax
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// AppendQuote appends s as a JSON string: quoted, with ", \ and control
// characters escaped and invalid UTF-8 replaced by U+FFFD, so that
// encoding/json decodes it to s (or, for invalid UTF-8, to what it would
// decode s's bytes to).
func AppendQuote(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || n != 1 {
				i += n
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
