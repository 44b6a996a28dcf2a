package trace

import (
	"encoding/binary"
	"math/bits"
)

// parseFast decodes a line laid out exactly as the Writer writes it: one flat object, no
// whitespace, the fields in their documented order, each at most once, strings without
// escapes and in ASCII, no empty strings and no nulls, every required field present. It
// reports whether the line was such a line; rec then holds the record parse would have
// decoded from it. For any other line (including every malformed one) it reports false
// having possibly set some fields of rec, and parse decodes the line in full: parseFast only
// takes the shortcuts the general parser's result cannot tell apart.
func (r *Reader) parseFast(b []byte, rec *Record) bool {
	const head = `{"time":"`
	if len(b) < len(head)+2 || string(b[:len(head)]) != head || b[len(b)-1] != '}' {
		return false
	}
	d := &r.dec
	d.seen = 0
	v, i := plainString(b, len(head))
	if i < 0 || len(v) == 0 {
		return false
	}
	if _, err := d.setString(rec, fTime, v); err != nil {
		return false
	}
	prev := fTime
	// b ends with '}', so every index below that stops short of a '"' or a number's end is
	// within b.
	for b[i] == ',' {
		var f field
		k := -1
		if i+18 <= len(b) && b[i+1] == '"' {
			// matchField, inlined: the name and its closing quote as two words.
			var n int
			if f, n = matchFieldWords(binary.LittleEndian.Uint64(b[i+2:]), binary.LittleEndian.Uint64(b[i+10:])); n >= 0 {
				k = i + 2 + n
			}
		} else {
			f, k = fieldAt(b, i+1)
		}
		if k < 0 || f <= prev || b[k] != ':' {
			return false
		}
		k++
		if f.isString() {
			if b[k] != '"' {
				return false
			}
			k++
			if last := d.last[f]; d.plain&(1<<f) != 0 && k+len(last) < len(b) && b[k+len(last)] == '"' && equalShort(b[k:k+len(last)], last) {
				// The field's previous value, plain, again: what setString would do.
				d.setShared(rec, f)
				k += len(last) + 1
			} else {
				if v, k = plainString(b, k); k < 0 || len(v) == 0 {
					return false
				}
				if _, err := d.setString(rec, f, v); err != nil {
					return false
				}
				if d.last[f] != "" {
					d.plain |= 1 << f // v was plain, and it is last[f] now
				}
			}
		} else {
			end, jerr := scanNumber(b, k)
			if jerr != nil {
				return false
			}
			if _, err := d.setNumber(rec, f, b[k:end]); err != nil {
				return false
			}
			k = end
		}
		if k >= len(b) {
			return false
		}
		prev, i = f, k
	}
	return i == len(b)-1 && d.seen&requiredFields == requiredFields
}

// fieldAt recognises a field name followed by '"' at b[i] == '"' (it reports -1 if b[i] is
// anything else) and returns its field and the index after the closing quote; k < 0 if the
// name is not a field's, or is written in any other way.
func fieldAt(b []byte, i int) (f field, k int) {
	if i+1 >= len(b) || b[i] != '"' {
		return fUnknown, -1
	}
	if f, k = matchField(b, i); k >= 0 {
		return f, k
	}
	// Near the end of the line, where matchField cannot read two words: the same with the
	// line's last bytes padded with zeros (the padding never matches the name's closing quote).
	var buf [16]byte
	copy(buf[:], b[i+1:])
	f, n := matchFieldWords(binary.LittleEndian.Uint64(buf[:8]), binary.LittleEndian.Uint64(buf[8:]))
	if n < 0 {
		return fUnknown, -1
	}
	return f, i + 1 + n
}

// plainString returns the JSON string that starts at b[i] (after its opening quote) when it
// has no escapes, no control characters and only ASCII, and the index after its closing
// quote; k < 0 otherwise.
func plainString(b []byte, i int) (v []byte, k int) {
	j := i
	for ; j+8 <= len(b); j += 8 {
		if m := specialMask(binary.LittleEndian.Uint64(b[j:])); m != 0 {
			j += bits.TrailingZeros64(m) / 8
			if b[j] == '"' {
				return b[i:j], j + 1
			}
			return nil, -1
		}
	}
	for ; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i:j], j + 1
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, -1
		}
	}
	return nil, -1
}
