package json

import "unicode/utf8"

// isSpace reports JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// value scans the value starting at b[i] (no leading space) and returns
// where it ends and its kind; Missing when b[i:] does not start with a
// value. Scalars are checked strictly; containers are skipped by counting
// brackets outside strings, without checking what is inside them.
func value(b []byte, i int) (int, Kind) {
	if i >= len(b) {
		return i, Missing
	}
	switch c := b[i]; {
	case c == '"':
		end, ok := stringEnd(b, i)
		if !ok {
			return i, Missing
		}
		return end, String
	case c == '{' || c == '[':
		end, ok := skipContainer(b, i)
		if !ok {
			return i, Missing
		}
		if c == '{' {
			return end, Object
		}
		return end, Array
	case c == '-' || (c >= '0' && c <= '9'):
		end := numberEnd(b, i)
		if end < 0 {
			return i, Missing
		}
		return end, Number
	case c == 't':
		return literal(b, i, "true", Bool)
	case c == 'f':
		return literal(b, i, "false", Bool)
	case c == 'n':
		return literal(b, i, "null", Null)
	}
	return i, Missing
}

func literal(b []byte, i int, word string, k Kind) (int, Kind) {
	if len(b)-i >= len(word) && string(b[i:i+len(word)]) == word {
		return i + len(word), k
	}
	return i, Missing
}

// stringEnd returns the index after the closing quote of the string that
// starts at b[i] (a quote). Escapes must be well formed and control
// characters are refused, as in JSON.
func stringEnd(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if hex4(b, i+1) < 0 {
					return i, false
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

// hex4 decodes the four hex digits at b[i:], or returns -1.
func hex4(b []byte, i int) rune {
	if len(b)-i < 4 {
		return -1
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// skipContainer returns the index after the bracket that closes the object
// or array starting at b[i].
func skipContainer(b []byte, i int) (int, bool) {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			end, ok := stringEnd(b, i)
			if !ok {
				return i, false
			}
			i = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		}
	}
	return i, false
}

// numberEnd returns the index after the number at b[i], or -1 if it is not
// a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// nextRune decodes one character of a string's contents (between the
// quotes, already checked by stringEnd) at s[i] as encoding/json does: an
// escape, a lone or unpaired surrogate or invalid UTF-8 becomes U+FFFD.
// It returns the rune and the bytes it took.
func nextRune(s []byte, i int) (rune, int) {
	c := s[i]
	if c < utf8.RuneSelf && c != '\\' {
		return rune(c), 1
	}
	if c != '\\' {
		return utf8.DecodeRune(s[i:])
	}
	switch s[i+1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := hex4(s, i+2)
		if r < 0xD800 || r > 0xDFFF {
			return r, 6
		}
		// A high surrogate followed by a low one is one character; any
		// other surrogate is replaced.
		if r < 0xDC00 && len(s)-i >= 12 && s[i+6] == '\\' && s[i+7] == 'u' {
			if r2 := hex4(s, i+8); r2 >= 0xDC00 && r2 <= 0xDFFF {
				return 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00), 12
			}
		}
		return utf8.RuneError, 6
	}
	return rune(s[i+1]), 2 // " \ /
}

// equalString reports whether the string contents s decode to want.
func equalString(s []byte, want string) bool {
	j := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf && c != '\\' {
			if j >= len(want) || want[j] != c {
				return false
			}
			i, j = i+1, j+1
			continue
		}
		r, n := nextRune(s, i)
		i += n
		var buf [utf8.UTFMax]byte
		m := utf8.EncodeRune(buf[:], r)
		if len(want)-j < m || want[j:j+m] != string(buf[:m]) {
			return false
		}
		j += m
	}
	return j == len(want)
}

// appendString appends the decoded string contents s to dst.
func appendString(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		start := i
		for i < len(s) && s[i] < utf8.RuneSelf && s[i] != '\\' {
			i++
		}
		dst = append(dst, s[start:i]...)
		if i == len(s) {
			break
		}
		r, n := nextRune(s, i)
		i += n
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}
