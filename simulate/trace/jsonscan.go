package trace

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the low-level JSON scanning used by the native reader: strings (with
// escapes), numbers, literals and skipping of values the reader does not use. It follows
// RFC 8259 and decodes strings exactly as encoding/json does (invalid UTF-8 and unpaired
// surrogates become U+FFFD).

// maxNesting bounds the depth of values skipped inside a record (encoding/json's limit).
const maxNesting = 10000

type jsonError struct {
	pos int
	msg string
}

func skipWS(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// decodeString decodes the JSON string starting at b[i] == '"'. It returns the decoded bytes
// (a sub-slice of b when the string needs no decoding, else built in *scratch) and the index
// after the closing quote.
func decodeString(b []byte, i int, scratch *[]byte) ([]byte, int, *jsonError) {
	start := i + 1
	j := start
	// Eight bytes at a time: jump straight to the first special byte.
	for ; j+8 <= len(b); j += 8 {
		if m := specialMask(binary.LittleEndian.Uint64(b[j:])); m != 0 {
			j += bits.TrailingZeros64(m) / 8
			if b[j] == '"' {
				return b[start:j], j + 1, nil
			}
			return decodeStringSlow(b, start, j, scratch)
		}
	}
	for ; j < len(b); j++ {
		c := b[j]
		if c == '"' {
			return b[start:j], j + 1, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return decodeStringSlow(b, start, j, scratch)
		}
	}
	return nil, len(b), &jsonError{i, "unterminated string"}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specialMask returns a mask with the high bit set in the bytes of x (little-endian) that are
// '"', '\\', below 0x20 or at least 0x80. Bytes above the lowest flagged one may be flagged
// falsely; the lowest flagged byte is always a special one.
func specialMask(x uint64) uint64 {
	quote := x ^ (lsb * '"')
	slash := x ^ (lsb * '\\')
	return ((quote-lsb)&^quote | (slash-lsb)&^slash | (x - lsb*0x20) | x) & msb
}

func decodeStringSlow(b []byte, start, j int, scratch *[]byte) ([]byte, int, *jsonError) {
	out := append((*scratch)[:0], b[start:j]...)
	defer func() { *scratch = out[:0] }()
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			return out, j + 1, nil
		case c < 0x20:
			return nil, j, &jsonError{j, "control character in string"}
		case c == '\\':
			if j+1 >= len(b) {
				return nil, j, &jsonError{j, "unterminated escape"}
			}
			switch e := b[j+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
				j += 2
			case 'b':
				out = append(out, '\b')
				j += 2
			case 'f':
				out = append(out, '\f')
				j += 2
			case 'n':
				out = append(out, '\n')
				j += 2
			case 'r':
				out = append(out, '\r')
				j += 2
			case 't':
				out = append(out, '\t')
				j += 2
			case 'u':
				r := hex4(b, j+2)
				if r < 0 {
					return nil, j, &jsonError{j, "bad \\u escape"}
				}
				j += 6
				if utf16.IsSurrogate(r) {
					if r2 := unicodeEscape(b, j); r2 >= 0 {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							j += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, j, &jsonError{j, "bad escape"}
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, b[j:j+size]...)
			}
			j += size
		}
	}
	return nil, len(b), &jsonError{start - 1, "unterminated string"}
}

// unicodeEscape returns the rune of a "\uXXXX" escape at b[i], or -1.
func unicodeEscape(b []byte, i int) rune {
	if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
		return hex4(b, i+2)
	}
	return -1
}

// hex4 parses four hex digits at b[i], or returns -1.
func hex4(b []byte, i int) rune {
	if i+4 > len(b) {
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
		r = r*16 + rune(c)
	}
	return r
}

// scanString checks the JSON string at b[i] == '"' without decoding it and returns the index
// after it.
func scanString(b []byte, i int) (int, *jsonError) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, nil
		case c < 0x20:
			return j, &jsonError{j, "control character in string"}
		case c == '\\':
			if j+1 >= len(b) {
				return j, &jsonError{j, "unterminated escape"}
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if hex4(b, j+2) < 0 {
					return j, &jsonError{j, "bad \\u escape"}
				}
				j += 5
			default:
				return j, &jsonError{j, "bad escape"}
			}
		}
	}
	return len(b), &jsonError{i, "unterminated string"}
}

// scanNumber checks the JSON number at b[i] and returns the index after it.
func scanNumber(b []byte, i int) (int, *jsonError) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return i, &jsonError{start, "bad number"}
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return i, &jsonError{start, "bad number"}
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return i, &jsonError{start, "bad number"}
		}
	}
	return i, nil
}

// scanLiteral checks that b[i:] starts with lit and returns the index after it.
func scanLiteral(b []byte, i int, lit string) (int, *jsonError) {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit), nil
	}
	return i, &jsonError{i, "bad literal"}
}

// skipValue checks and skips the JSON value at b[i] (any type, nested to maxNesting minus
// depth levels), returning the index after it. stack is scratch space.
func skipValue(b []byte, i int, depth int, stack *[]byte) (int, *jsonError) {
	st := (*stack)[:0]
	defer func() { *stack = st[:0] }()
	var err *jsonError
	for {
		// A value starts at b[i].
		i = skipWS(b, i)
		if i >= len(b) {
			return i, &jsonError{i, "want a value"}
		}
		switch c := b[i]; {
		case c == '"':
			i, err = scanString(b, i)
		case c == '{' || c == '[':
			if depth+len(st)+1 > maxNesting {
				return i, &jsonError{i, "nested too deeply"}
			}
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == closer {
				i++
				break
			}
			st = append(st, c)
			if c == '{' {
				if i, err = objectKey(b, i); err != nil {
					return i, err
				}
			}
			continue
		case c == 't':
			i, err = scanLiteral(b, i, "true")
		case c == 'f':
			i, err = scanLiteral(b, i, "false")
		case c == 'n':
			i, err = scanLiteral(b, i, "null")
		case c == '-' || (c >= '0' && c <= '9'):
			i, err = scanNumber(b, i)
		default:
			return i, &jsonError{i, "want a value"}
		}
		if err != nil {
			return i, err
		}
		// After a value: close containers or move to the next element.
		for {
			if len(st) == 0 {
				return i, nil
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, &jsonError{i, "unterminated value"}
			}
			top := st[len(st)-1]
			if b[i] == ',' {
				i++
				if top == '{' {
					if i, err = objectKey(b, skipWS(b, i)); err != nil {
						return i, err
					}
				}
				break
			}
			if (top == '{' && b[i] == '}') || (top == '[' && b[i] == ']') {
				i++
				st = st[:len(st)-1]
				continue
			}
			return i, &jsonError{i, "want ',' or a closing bracket"}
		}
	}
}

// objectKey checks `"key" :` at b[i] and returns the index after the colon.
func objectKey(b []byte, i int) (int, *jsonError) {
	if i >= len(b) || b[i] != '"' {
		return i, &jsonError{i, "want a field name"}
	}
	i, err := scanString(b, i)
	if err != nil {
		return i, err
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, &jsonError{i, "want ':'"}
	}
	return i + 1, nil
}
